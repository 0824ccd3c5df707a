import { pidAlive } from "../../lib/pid.ts";
import { resourceName } from "../instance.ts";
import { type ContainerInfo, type DockerEngine, LABEL_INSTANCE, LABEL_ROLE } from "./engine/engine.ts";
import { capabilityImageTag } from "./images.ts";
import { LABEL_MODE, LABEL_OWNER_PID } from "./prepare.ts";

export interface InstanceResources {
  instance: string;
  containers: ContainerInfo[];
  networks: string[];
  /** Ids of images labelled for it: a capability build may end after its bottle was torn down. */
  images: string[];
  /** True while the agent runs or the CLI that launched it is still alive (mid-launch). */
  alive: boolean;
}

/** Every labelled resource on the engine, grouped by instance. */
export async function findInstances(
  engine: DockerEngine,
  isPidAlive: (pid: number) => boolean = pidAlive,
): Promise<InstanceResources[]> {
  const [containers, networks, images] = await Promise.all([
    engine.containerList({ [LABEL_INSTANCE]: true }),
    engine.networkList({ [LABEL_INSTANCE]: true }),
    engine.imageList({ [LABEL_INSTANCE]: true }),
  ]);
  const byInstance = new Map<string, InstanceResources>();
  const entry = (instance: string) => {
    let found = byInstance.get(instance);
    if (!found) {
      found = { instance, containers: [], networks: [], images: [], alive: false };
      byInstance.set(instance, found);
    }
    return found;
  };
  for (const container of containers) entry(container.labels[LABEL_INSTANCE]!).containers.push(container);
  for (const network of networks) entry(network.labels[LABEL_INSTANCE]!).networks.push(network.name);
  for (const image of images) entry(image.labels[LABEL_INSTANCE]!).images.push(image.id);
  for (const found of byInstance.values()) {
    const labelled = found.containers.find((container) => container.labels[LABEL_OWNER_PID]);
    const owner = Number(labelled?.labels[LABEL_OWNER_PID]);
    const mode = labelled?.labels[LABEL_MODE];
    const ownerAlive = Number.isInteger(owner) && owner > 0 && isPidAlive(owner);
    // A detached bottle lives on its own only once its launch completed (the agent was renamed
    // from its launching name); until then, and always for attached ones, the CLI must live.
    const launched = found.containers.some(
      (container) =>
        container.labels[LABEL_ROLE] === "agent" &&
        container.running &&
        container.name === resourceName(found.instance, "agent"),
    );
    found.alive = mode === "detached" ? launched || ownerAlive : ownerAlive;
  }
  return [...byInstance.values()].sort((a, b) => a.instance.localeCompare(b.instance));
}

/**
 * Removes an instance's containers, then its networks, then (the instance known) the agent image
 * a capability approval built for it. Idempotent: what is gone is skipped.
 */
export async function removeInstance(
  engine: DockerEngine,
  resources: Pick<InstanceResources, "containers" | "networks"> & { instance?: string; images?: string[] },
): Promise<void> {
  await Promise.all(resources.containers.map((container) => engine.containerRemove(container.name)));
  for (const network of resources.networks) await engine.networkRemove(network);
  if (resources.instance !== undefined) await engine.imageRemove(capabilityImageTag(resources.instance));
  for (const image of resources.images ?? []) await engine.imageRemove(image, { force: true });
}
