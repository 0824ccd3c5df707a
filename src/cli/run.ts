import type { Command } from "commander";
import { CommanderError } from "commander";
import { visibleLines } from "../lib/terminal-text.ts";
import { isUserError } from "./user-error.ts";

/**
 * Runs the CLI (built with `exitOverride()`, inherited by every subcommand) and maps failures to exit codes: 2 for anything the user can fix (bad input,
 * bad manifest), 1 for a failure of the system. A user error prints one message, never a stack.
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 1 ? 2 : error.exitCode;
      return;
    }
    if (isUserError(error)) {
      process.stderr.write(`claude-bottle: ${visibleLines(error.message)}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(
      `claude-bottle: internal error: ${visibleLines(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`,
    );
    process.exitCode = 1;
  }
}
