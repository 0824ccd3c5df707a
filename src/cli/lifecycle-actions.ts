import { AGENT_USER, AGENT_WORKDIR } from "../backend/docker/agent-env.ts";
import { cleanupInstances, stopInstance } from "../backend/docker/lifecycle/stop.ts";
import { resourceName } from "../backend/instance.ts";
import { UserError } from "../lib/user-error.ts";

import { attachSession, sessionCommand } from "./attach.ts";
import type { CliContext } from "./context.ts";
import { openDocker } from "./docker-context.ts";

/** What `exec`, `resume`, `stop` and `cleanup` do; loaded only when one of them runs. */

export async function execIn(context: CliContext, instance: string, command: string[]): Promise<number> {
  const docker = await openDocker(context);
  const agent = resourceName(instance, "agent");
  const info = await docker.engine.containerInspect(agent);
  if (!info?.running)
    throw new UserError(
      `no running bottle \`${instance}\`; \`claude-bottle list --running\` shows the running ones`,
    );
  const result = await docker.engine.containerExec(agent, command, {
    user: AGENT_USER,
    workdir: AGENT_WORKDIR,
    stdio: "inherit",
  });
  return result.exitCode;
}

/**
 * Re-attaches Claude Code (`--continue`) to a bottle left running by `start --detach`. The
 * bottle keeps running when the session ends; `stop` removes it.
 */
export async function resume(context: CliContext, instance: string): Promise<number> {
  const docker = await openDocker(context);
  const record = docker.store.load(instance);
  const agent = resourceName(instance, "agent");
  const info = await docker.engine.containerInspect(agent);
  if (!info?.running) {
    const hint = record
      ? `start a new one with \`claude-bottle start ${record.agent}\``
      : "`claude-bottle list --running` shows the running ones";
    throw new UserError(`bottle \`${instance}\` is not running, so there is nothing to resume; ${hint}`);
  }
  return attachSession({
    engine: docker.engine,
    store: docker.store,
    instance,
    command: sessionCommand("continue"),
    log: (line: string) => context.stderr.write(`claude-bottle: ${line}\n`),
  });
}

export async function stop(context: CliContext, instance: string): Promise<void> {
  const docker = await openDocker(context);
  if (!(await stopInstance(docker, instance)))
    throw new UserError(`no bottle \`${instance}\`; \`claude-bottle list --running\` shows the running ones`);
  context.stdout.write(`stopped ${instance}\n`);
}

export async function cleanup(context: CliContext, options: { logs?: boolean } = {}): Promise<void> {
  const docker = await openDocker(context);
  const { removed, live } = await cleanupInstances(docker, (instance) =>
    context.stdout.write(
      `removed ${instance.instance} (${instance.containers.length} container(s), ${instance.networks.length} network(s), ${instance.images.length} image(s))\n`,
    ),
  );
  if (options.logs) {
    const { removeLogs } = await import("./logs-actions.ts");
    context.stdout.write(`removed the logs of ${removeLogs(context, live)} bottle(s) that are not running\n`);
  }
  context.stdout.write(
    removed.length
      ? `cleanup done; ${live.size} running bottle(s) left alone\n`
      : `nothing to clean up; ${live.size} running bottle(s)\n`,
  );
}
