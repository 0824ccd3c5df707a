import type { Command } from "commander";
import { listPending } from "../../supervise/decide.ts";
import { queueTable } from "../../supervise/render.ts";
import { type CliContext, processContext } from "../context.ts";
import { UserError } from "../user-error.ts";
import { superviseHost } from "./supervise.ts";

/** `dashboard`: pending supervise proposals of every running bottle; `--once` prints and exits. */
export function registerDashboardCommand(program: Command): void {
  program
    .command("dashboard")
    .description(
      "Review supervise proposals of every running bottle: approve, modify in $EDITOR, or reject; --once prints the queue and exits",
    )
    .option("--once", "print the pending proposals (with ids) and exit")
    .action(async (options: { once?: boolean }) => dashboard(processContext(), options));
}

async function dashboard(context: CliContext, options: { once?: boolean }): Promise<void> {
  const host = await superviseHost(context);
  if (options.once) {
    const { pending, problems } = await listPending(host);
    for (const problem of problems)
      context.stderr.write(
        `claude-bottle: warning: ${problem.file} is not a valid proposal (${problem.issues.join("; ")})\n`,
      );
    context.stdout.write(`${queueTable(pending, new Date(), Number.MAX_SAFE_INTEGER).join("\n")}\n`);
    return;
  }
  if (!process.stdin.isTTY || !process.stdout.isTTY)
    throw new UserError(
      "the dashboard needs a terminal; use `dashboard --once`, `approve` and `reject` in scripts",
    );
  const { runDashboard } = await import("../../supervise/tui.ts");
  await runDashboard(host, { input: process.stdin, output: process.stdout, env: context.env });
}
