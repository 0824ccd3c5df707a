import { describeRuntime } from "../backend/docker/isolation.ts";
import { describeLoss, instanceStates } from "../backend/docker/watch.ts";
import { visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import type { CliContext } from "./context.ts";
import { openDocker } from "./docker-context.ts";

/**
 * One line per container (role, state, exit code, health, isolation); 0 when all are up, 1
 * otherwise.
 */
export async function status(context: CliContext, instance: string): Promise<number> {
  const docker = await openDocker(context);
  const states = await instanceStates(docker.engine, instance);
  if (states.length === 0)
    throw new UserError(`no bottle \`${instance}\`; \`claude-bottle list --running\` shows the running ones`);
  for (const state of states) {
    const health = state.health === "none" ? "" : ` (${state.health})`;
    const exited = state.status === "running" ? "" : ` code ${state.exitCode}`;
    const line = `${state.role.padEnd(13)} ${`${state.status}${exited}${health}`.padEnd(22)} isolation ${describeRuntime(state.runtime)}`;
    context.stdout.write(`${visible(line)}\n`);
  }
  const down = states.filter((state) => !state.up);
  for (const state of down)
    context.stderr.write(`claude-bottle: ${visible(describeLoss(state, instance))}\n`);
  return down.length === 0 ? 0 : 1;
}
