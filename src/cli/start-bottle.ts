import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { diskLimitRefusal } from "../backend/docker/disk-limit.ts";
import { DockerBottleBackend } from "../backend/docker/docker-backend.ts";
import { resolveIsolation } from "../backend/docker/isolation.ts";
import type { ImageRefs } from "../backend/docker/prepare.ts";
import { watchInstance } from "../backend/docker/watch.ts";
import { newInstanceId, resourceName } from "../backend/instance.ts";
import { homeLayout } from "../lib/home-layout.ts";
import { generateBottleCa } from "../lib/tls/ca.ts";
import { UserError } from "../lib/user-error.ts";
import type { BottlePlan } from "../plan/bottle-plan.ts";
import { planToJson } from "../plan/render-json.ts";
import { askEnv } from "./ask-env.ts";
import { attachSession, sessionCommand } from "./attach.ts";
import type { CliContext } from "./context.ts";
import { type DockerContext, warnAboutOrphans } from "./docker-context.ts";

export interface StartBottleOptions {
  detach: boolean;
  images: ImageRefs;
}

/**
 * Launches a planned bottle: attached, Claude Code gets the terminal and everything is torn down
 * when it exits; detached, the instance id is printed and the bottle runs until `stop`.
 * SIGINT/SIGTERM during launch abort it and remove what was made.
 */
export async function startBottle(
  context: CliContext,
  docker: DockerContext,
  plan: BottlePlan,
  options: StartBottleOptions,
): Promise<{ instance: string; exitCode: number }> {
  const log = (line: string) => context.stderr.write(`claude-bottle: ${line}\n`);
  await warnAboutOrphans(docker, context);
  const diskRefusal = plan.limits.diskBytes === undefined ? undefined : diskLimitRefusal(docker.info.storage);
  if (diskRefusal !== undefined) throw new UserError(diskRefusal, { exitCode: 1, code: "E_DISK_LIMIT" });
  const isolation = await resolveIsolation({
    engine: docker.engine,
    info: docker.info,
    setting: plan.isolation,
    image: options.images.agent,
    cacheFile: homeLayout(docker.home).isolationCache,
  });
  log(`isolation: ${isolation.note}`);
  const answers = await askEnv(plan);
  const instance = newInstanceId(plan.agent.name);
  mkdirSync(join(docker.logRoot, instance), { recursive: true, mode: 0o700 });
  const backend = new DockerBottleBackend({
    engine: docker.engine,
    images: options.images,
    logRoot: docker.logRoot,
    generateCa: () => generateBottleCa({ commonName: `claude-bottle CA for ${instance}` }),
    ...(isolation.runtime === undefined ? {} : { runtime: isolation.runtime }),
  });
  const mode = options.detach ? "detached" : "attached";
  const prepared = backend.prepare(plan, { instance, answers, owner: { pid: process.pid, mode } });

  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) =>
    abort.abort(new Error(`interrupted by ${signal}; removing what was started`));
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal).on("SIGHUP", onSignal);
  await using stack = new AsyncDisposableStack();
  stack.defer(() => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal).off("SIGHUP", onSignal);
  });
  log(`launching bottle ${instance} (agent ${plan.agent.name}, bottle ${plan.bottle.name})`);
  writeBottleRecord(prepared.logDir, instance, plan);
  const launched = stack.use(await backend.launch(prepared, { log, signal: abort.signal }));
  stack.defer(() => {
    log(`bottle ${instance} removed`);
  });
  await backend.provision(prepared, launched);
  abort.signal.throwIfAborted();
  docker.store.save({
    instance,
    agent: plan.agent.name,
    bottle: plan.bottle.name,
    mode,
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
    caFingerprint: launched.ca.sha256Fingerprint,
    cwd: context.cwd,
    plan: planToJson(plan),
  });
  stack.defer(() => docker.store.remove(instance));
  // Launch complete: the agent takes its final name, which is what tells `cleanup` that a
  // detached bottle is finished and may outlive this process (instance.ts).
  const agent = resourceName(instance, "agent");
  stack.defer(() => docker.engine.containerRemove(agent));
  await docker.engine.containerRename(launched.agentContainer, agent);

  if (options.detach) {
    stack.move();
    context.stdout.write(`${instance}\n`);
    return { instance, exitCode: 0 };
  }
  // A signal while attached ends the session: removing the agent ends the exec, then teardown runs.
  abort.signal.addEventListener("abort", () => void docker.engine.containerRemove(agent).catch(() => {}), {
    once: true,
  });
  // Says on stderr when a sidecar dies under the session: the agent lost that path (watch.ts).
  stack.use(watchInstance(docker.engine, instance, { report: log }));
  log("attaching Claude Code (exit it to tear the bottle down)");
  const exitCode = await attachSession({
    engine: docker.engine,
    store: docker.store,
    instance,
    command: sessionCommand({ prompt: Boolean(plan.agent.prompt) }),
    log,
    signal: abort.signal,
  });
  return { instance, exitCode };
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
