import type { Command } from "commander";
import { processContext } from "../context.ts";

/** The Docker side loads on use, so `--help` and planning stay fast. */
const actions = () => import("../lifecycle-actions.ts");

/** `exec`, `stop` and `cleanup`: what happens to bottles after `start`. */
export function registerLifecycleCommands(program: Command): void {
  program
    .command("exec")
    .description("Run a command in a running bottle's agent, as the agent user; exits with its exit code")
    .argument("<instance>", "instance id (from `start --detach` or `list --running`)")
    .argument("<command...>", "the command, after `--`")
    .action(async (instance: string, command: string[]) => {
      process.exitCode = await (await actions()).execIn(processContext(), instance, command);
    });
  program
    .command("resume")
    .description(
      "Attach your terminal to Claude Code in a running detached bottle, continuing its last conversation",
    )
    .argument("<instance>", "instance id")
    .action(async (instance: string) => {
      process.exitCode = await (await actions()).resume(processContext(), instance);
    });
  program
    .command("stop")
    .description("Stop a bottle and remove all of its containers and networks")
    .argument("<instance>", "instance id")
    .action(async (instance: string) => (await actions()).stop(processContext(), instance));
  program
    .command("cleanup")
    .description("Remove every container and network of bottles whose run has ended (idempotent)")
    .option("--logs", "also remove the logs of every bottle that is not running")
    .action(async (options: { logs?: boolean }) => (await actions()).cleanup(processContext(), options));
}
