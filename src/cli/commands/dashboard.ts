import type { Command } from "commander";
import { processContext } from "../context.ts";
import { superviseActions } from "./supervise.ts";

/** `dashboard`: pending supervise proposals of every running bottle; `--once` prints and exits. */
export function registerDashboardCommand(program: Command): void {
  program
    .command("dashboard")
    .description(
      "Review supervise proposals of every running bottle: approve, modify in $EDITOR, or reject; --once prints the queue and exits",
    )
    .option("--once", "print the pending proposals (with ids) and exit")
    .action(async (options: { once?: boolean }) =>
      (await superviseActions()).dashboard(processContext(), options),
    );
}
