import type { DockerHost } from "../backend/docker/lifecycle/host.ts";
import { launchInstance, preflight } from "../backend/docker/lifecycle/launch-instance.ts";
import type { ImageRefs } from "../backend/docker/prepare.ts";
import { watchInstance } from "../backend/docker/watch.ts";
import type { BottlePlan } from "../plan/bottle-plan.ts";
import { askEnv } from "./ask-env.ts";
import { attachSession, sessionCommand } from "./attach.ts";
import type { CliContext } from "./context.ts";
import { warnAboutOrphans } from "./docker-context.ts";

export interface StartBottleOptions {
  detach: boolean;
  images: ImageRefs;
}

/**
 * Launches a planned bottle (the backend's lifecycle: lifecycle/launch-instance.ts): attached,
 * Claude Code gets the terminal and everything is torn down when it exits; detached, the instance
 * id is printed and the bottle runs until `stop`. SIGINT/SIGTERM/SIGHUP during launch abort it
 * and remove what was made.
 */
export async function startBottle(
  context: CliContext,
  docker: DockerHost,
  plan: BottlePlan,
  options: StartBottleOptions,
): Promise<{ instance: string; exitCode: number }> {
  const log = (line: string) => context.stderr.write(`claude-bottle: ${line}\n`);
  await warnAboutOrphans(docker, context);
  const checked = await preflight(docker, plan, { agentImage: options.images.agent, log });
  const answers = await askEnv(plan);
  const mode = options.detach ? "detached" : "attached";

  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) =>
    abort.abort(new Error(`interrupted by ${signal}; removing what was started`));
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal).on("SIGHUP", onSignal);
  await using stack = new AsyncDisposableStack();
  stack.defer(() => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal).off("SIGHUP", onSignal);
  });
  const { instance, agent } = stack.use(
    await launchInstance(docker, {
      plan,
      images: options.images,
      preflight: checked,
      answers,
      mode,
      cwd: context.cwd,
      log,
      signal: abort.signal,
    }),
  );

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
