import { userInfo } from "node:os";
import type { Command } from "commander";
import { approve, reject, type SuperviseHost } from "../../supervise/decide.ts";
import { type CliContext, processContext } from "../context.ts";
import { openDocker } from "../docker-context.ts";

/** `approve` and `reject`: decide a supervise proposal without the dashboard (scripts, CI). */
export function registerSuperviseCommands(program: Command): void {
  program
    .command("approve")
    .description("Approve a pending supervise proposal and apply it to its running bottle, live")
    .argument("<id>", "proposal id (from `dashboard --once`)")
    .option("--note <text>", "a note for the agent and the audit log")
    .action(async (id: string, options: { note?: string }) => approveCommand(processContext(), id, options));
  program
    .command("reject")
    .description("Reject a pending supervise proposal; the agent reads the reason")
    .argument("<id>", "proposal id (from `dashboard --once`)")
    .requiredOption("--reason <text>", "why, for the agent and the audit log")
    .action(async (id: string, options: { reason: string }) =>
      rejectCommand(processContext(), id, options.reason),
    );
}

export async function superviseHost(context: CliContext): Promise<SuperviseHost> {
  const docker = await openDocker(context);
  return {
    engine: docker.engine,
    home: docker.home,
    operator: context.env.USER || userInfo().username,
    owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
  };
}

async function approveCommand(context: CliContext, id: string, options: { note?: string }): Promise<void> {
  const applied = await approve(await superviseHost(context), id, { note: options.note });
  context.stdout.write(`approved ${id}: ${applied.summary}\n`);
}

async function rejectCommand(context: CliContext, id: string, reason: string): Promise<void> {
  await reject(await superviseHost(context), id, reason);
  context.stdout.write(`rejected ${id}\n`);
}
