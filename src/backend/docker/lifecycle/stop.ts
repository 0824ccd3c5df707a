import { removeSuperviseDirs } from "../../host-dirs.ts";
import { findInstances, type InstanceResources, removeInstance } from "../cleanup.ts";
import type { DockerHost } from "./host.ts";

/**
 * `stop`: removes everything of the instance, found by its labels (containers, networks, the
 * images built for it), its state record and supervise's host dirs. False when there was nothing
 * to stop: no resource and no record.
 */
export async function stopInstance(
  host: Pick<DockerHost, "engine" | "store" | "home">,
  instance: string,
): Promise<boolean> {
  const { engine, store } = host;
  const found = (await findInstances(engine)).find((candidate) => candidate.instance === instance);
  if (!found && !store.load(instance)) return false;
  if (found) await removeInstance(engine, found);
  store.remove(instance);
  const others = (await findInstances(engine)).map((candidate) => candidate.instance);
  removeSuperviseDirs(host.home, new Set(others.filter((other) => other !== instance)));
  return true;
}

export interface CleanedUp {
  /** The instances whose resources were removed (their run had ended). */
  removed: InstanceResources[];
  /** The instances left alone: running, or still owned by a live CLI. */
  live: ReadonlySet<string>;
}

/**
 * `cleanup`: removes the resources and the state record of every instance whose run has ended
 * (cleanup.ts decides), the state records of instances with no resources left, and supervise's
 * host dirs of every instance not live. `onRemoved` hears of each instance as it is removed.
 */
export async function cleanupInstances(
  host: Pick<DockerHost, "engine" | "store" | "home">,
  onRemoved: (removed: InstanceResources) => void = () => {},
): Promise<CleanedUp> {
  const { engine, store } = host;
  const instances = await findInstances(engine);
  const dead = instances.filter((instance) => !instance.alive);
  for (const instance of dead) {
    await removeInstance(engine, instance);
    store.remove(instance.instance);
    onRemoved(instance);
  }
  const live = new Set(instances.filter((instance) => instance.alive).map((instance) => instance.instance));
  for (const record of store.list()) {
    if (!live.has(record.instance)) store.remove(record.instance);
  }
  removeSuperviseDirs(host.home, live);
  return { removed: dead, live };
}
