import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homeLayout } from "../../../lib/home-layout.ts";
import { generateBottleCa } from "../../../lib/tls/ca.ts";
import { UserError } from "../../../lib/user-error.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import { planToJson } from "../../../plan/render-json.ts";
import { newInstanceId, resourceName } from "../../instance.ts";
import { diskLimitRefusal } from "../disk-limit.ts";
import { resolveIsolation } from "../isolation.ts";
import { launchDocker } from "../launch.ts";
import type { ImageRefs } from "../prepare.ts";
import { DOCKER_SIDECARS } from "../sidecars/index.ts";
import type { DockerHost } from "./host.ts";
import { prepareInstance } from "./prepare-instance.ts";
import { provisionAgent } from "./provision-agent.ts";

/** What the preflight checks found: launch takes it, so no bottle starts unchecked. */
export interface Preflight {
  /** The agent's OCI runtime (isolation.ts); absent: the engine's default. */
  runtime?: string;
}

/**
 * What is checked before anything is asked or made: a disk limit the engine cannot enforce is
 * refused (E_DISK_LIMIT), and the bottle's isolation is resolved against the engine (and said).
 */
export async function preflight(
  host: Pick<DockerHost, "engine" | "info" | "home">,
  plan: BottlePlan,
  options: { agentImage: string; log: (line: string) => void },
): Promise<Preflight> {
  const diskRefusal = plan.limits.diskBytes === undefined ? undefined : diskLimitRefusal(host.info.storage);
  if (diskRefusal !== undefined) throw new UserError(diskRefusal, { exitCode: 1, code: "E_DISK_LIMIT" });
  const isolation = await resolveIsolation({
    engine: host.engine,
    info: host.info,
    setting: plan.isolation,
    image: options.agentImage,
    cacheFile: homeLayout(host.home).isolationCache,
  });
  options.log(`isolation: ${isolation.note}`);
  return isolation.runtime === undefined ? {} : { runtime: isolation.runtime };
}

export interface LaunchInput {
  plan: BottlePlan;
  images: ImageRefs;
  preflight: Preflight;
  /** Answers to the manifest's `?prompt` env entries. */
  answers: Readonly<Record<string, string>>;
  /** Attached bottles live as long as this process; detached ones until `stop`. */
  mode: "attached" | "detached";
  /** The working directory the agent was started from (kept in the state record). */
  cwd: string;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
  /** Aborts the launch at its next step; what was made is removed. */
  signal?: AbortSignal | undefined;
}

/** A launched, provisioned and recorded bottle. Disposing it tears everything down. */
export interface LaunchedInstance extends AsyncDisposable {
  readonly instance: string;
  /** The agent container, under its final name. */
  readonly agent: string;
}

/**
 * An instance's launch: prepare → launch (networks, sidecars healthy, the agent under its
 * launching name, trusting the per-bottle CA) → provision → the state record → the agent's final
 * name, which tells `cleanup` the launch completed (instance.ts). A failure or an abort at any
 * step removes what was made. The result owns everything: disposing it removes the agent, the
 * state record, the sidecars, the networks and the agent image a capability built, in that order;
 * a detached bottle is not disposed (`stop` or `cleanup` removes it later).
 */
export async function launchInstance(host: DockerHost, input: LaunchInput): Promise<LaunchedInstance> {
  const { engine, store } = host;
  const { plan, log, signal } = input;
  const instance = newInstanceId(plan.agent.name);
  const logRoot = homeLayout(host.home).logs;
  mkdirSync(join(logRoot, instance), { recursive: true, mode: 0o700 });
  const prepared = prepareInstance({
    plan,
    instance,
    images: input.images,
    answers: input.answers,
    owner: { pid: process.pid, mode: input.mode },
    logRoot,
    runtime: input.preflight.runtime,
  });

  await using stack = new AsyncDisposableStack();
  log(`launching bottle ${instance} (agent ${plan.agent.name}, bottle ${plan.bottle.name})`);
  writeBottleRecord(prepared.logDir, instance, plan);
  const ca = await generateBottleCa({ commonName: `claude-bottle CA for ${instance}` });
  const launched = stack.use(
    await launchDocker(engine, prepared, {
      ca,
      log,
      sidecars: DOCKER_SIDECARS,
      ...(signal ? { signal } : {}),
    }),
  );
  stack.defer(() => {
    log(`bottle ${instance} removed`);
  });
  await provisionAgent(engine, prepared, {
    agent: launched.agentContainer,
    caFingerprint: ca.sha256Fingerprint,
    log,
  });
  signal?.throwIfAborted();
  store.save({
    instance,
    agent: plan.agent.name,
    bottle: plan.bottle.name,
    mode: input.mode,
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
    caFingerprint: ca.sha256Fingerprint,
    cwd: input.cwd,
    plan: planToJson(plan),
  });
  stack.defer(() => store.remove(instance));
  // Launch complete: the agent takes its final name, which is what tells `cleanup` that a
  // detached bottle is finished and may outlive this process (instance.ts).
  const agent = resourceName(instance, "agent");
  stack.defer(() => engine.containerRemove(agent));
  await engine.containerRename(launched.agentContainer, agent);
  const owned = stack.move();
  return { instance, agent, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

/**
 * `logs/<instance>/bottle.json`: the plan the bottle started with (names only), kept with its
 * logs after `stop`, so `why` can point at the manifest line that would allow a refusal.
 */
function writeBottleRecord(logDir: string, instance: string, plan: BottlePlan): void {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(logDir, "bottle.json"),
    `${JSON.stringify({ instance, started: new Date().toISOString(), plan: planToJson(plan) }, null, 2)}\n`,
    { mode: 0o600 },
  );
}
