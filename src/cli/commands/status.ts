import type { Command } from "commander";
import { processContext } from "../context.ts";

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .description(
      "Show the state of each container of a bottle and what the agent has lost when one is down (exit code 1 then)",
    )
    .argument("<instance>", "instance id (from `start --detach` or `list --running`)")
    .action(async (instance: string) => {
      process.exitCode = await (await import("../status-action.ts")).status(processContext(), instance);
    });
}
