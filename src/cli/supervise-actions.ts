import { userInfo } from "node:os";
import { sidecarWriter } from "../backend/docker/prepare.ts";
import { visible } from "../lib/terminal-text.ts";
import { runDashboard } from "../supervise/dashboard-ui.ts";
import { approve, listPending, reject, type SuperviseHost } from "../supervise/decide.ts";
import { queueTable } from "../supervise/render.ts";
import type { CliContext } from "./context.ts";
import { openDocker } from "./docker-context.ts";
import { UserError } from "./user-error.ts";

/** What `approve`, `reject` and `dashboard` do; loaded only when one of them runs. */

export async function superviseHost(context: CliContext): Promise<SuperviseHost> {
  const docker = await openDocker(context);
  return {
    engine: docker.engine,
    home: docker.home,
    operator: context.env.USER || userInfo().username,
    // Files handed to the egress proxy belong to the user it runs as (never root).
    owner: sidecarWriter({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
  };
}

export async function approveCommand(
  context: CliContext,
  id: string,
  options: { note?: string },
): Promise<void> {
  const applied = await approve(await superviseHost(context), id, { note: options.note });
  context.stdout.write(`approved ${visible(id)}: ${visible(applied.summary)}\n`);
}

export async function rejectCommand(context: CliContext, id: string, reason: string): Promise<void> {
  await reject(await superviseHost(context), id, reason);
  context.stdout.write(`rejected ${visible(id)}\n`);
}

export async function dashboard(context: CliContext, options: { once?: boolean }): Promise<void> {
  if (!options.once) {
    if (!process.stdin.isTTY || !process.stdout.isTTY)
      throw new UserError(
        "the interactive dashboard needs a terminal; use `claude-bottle dashboard --once` to list proposals, then `approve <id> [--note TEXT]` or `reject <id> --reason TEXT`",
      );
    await runDashboard(await superviseHost(context), {
      input: process.stdin,
      output: process.stdout,
      editor: context.env.VISUAL || context.env.EDITOR || "vi",
    });
    return;
  }
  const { pending, problems } = await listPending(await superviseHost(context));
  for (const problem of problems)
    context.stderr.write(
      `claude-bottle: warning: ${visible(`${problem.file} is not a valid proposal (${problem.issues.join("; ")})`)}\n`,
    );
  context.stdout.write(`${queueTable(pending, new Date(), Number.MAX_SAFE_INTEGER).join("\n")}\n`);
}
