#!/usr/bin/env node
import { Command } from "commander";
import { registerCommands } from "./commands/index.ts";
import { runCli } from "./run.ts";

const program = new Command("claude-bottle")
  .description(
    "Run Claude Code autonomously inside a Docker bottle whose only ways out are audited sidecars.",
  )
  .version("0.1.0")
  .option("--debug", "print the stack of an unexpected error (or set CLAUDE_BOTTLE_DEBUG=1)")
  .option("--no-color", "no colours in the output (NO_COLOR and FORCE_COLOR are honoured too)")
  .showHelpAfterError()
  .exitOverride();
registerCommands(program);
await runCli(program, process.argv);
