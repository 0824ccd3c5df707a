import type { Command } from "commander";
import { processContext } from "../context.ts";

/** The supervise host side loads on use, so `--help` and planning stay fast. */
export const superviseActions = () => import("../supervise-actions.ts");

/** `approve` and `reject`: decide a supervise proposal without the dashboard (scripts, CI). */
export function registerSuperviseCommands(program: Command): void {
  program
    .command("approve")
    .description("Approve a pending supervise proposal and apply it to its running bottle, live")
    .argument("<id>", "proposal id (from `dashboard --once`)")
    .option("--note <text>", "a note for the agent and the audit log")
    .option(
      "--digest <hex>",
      "approve only if the proposal is still the one with this digest (dashboard --once --format json)",
    )
    .action(async (id: string, options: { note?: string; digest?: string }) =>
      (await superviseActions()).approveCommand(processContext(), id, options),
    );
  program
    .command("reject")
    .description("Reject a pending supervise proposal; the agent reads the reason")
    .argument("<id>", "proposal id (from `dashboard --once`)")
    .requiredOption("--reason <text>", "why, for the agent and the audit log")
    .action(async (id: string, options: { reason: string }) =>
      (await superviseActions()).rejectCommand(processContext(), id, options.reason),
    );
}
