import { type Command, Option } from "commander";
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
    .addOption(
      new Option("--format <format>", "with --once: text (readable) or json (one document, for scripts)")
        .choices(["text", "json"])
        .default("text"),
    )
    .action(async (options: { once?: boolean; format: "text" | "json" }) =>
      (await superviseActions()).dashboard(processContext(), options),
    );
}
