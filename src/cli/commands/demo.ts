import type { Command } from "commander";
import { processContext } from "../context.ts";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "See a bottle work in a minute: the real Claude Code, a scripted local API, no account needed",
    )
    .action(async () => {
      const { runDemo } = await import("../demo/run-demo.ts");
      const result = await runDemo(processContext());
      process.exitCode = result.ok ? 0 : 1;
    });
}
