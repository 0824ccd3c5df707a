import type { Command } from "commander";
import { CommanderError } from "commander";
import { isEngineError } from "../backend/docker/engine/error.ts";
import { visibleLines } from "../lib/terminal-text.ts";
import { errorMessage, isUserError, UserError } from "../lib/user-error.ts";

/** Stacks are for whoever debugs claude-bottle itself: `--debug` or CLAUDE_BOTTLE_DEBUG=1. */
function debugging(argv: readonly string[]): boolean {
  return argv.includes("--debug") || process.env.CLAUDE_BOTTLE_DEBUG === "1";
}

/**
 * Runs the CLI (built with `exitOverride()`, inherited by every subcommand) and maps failures to
 * exit codes: 2 for anything the user can fix (bad input, bad manifest), 1 for a failure of the
 * system. Every failure is one message; a stack only when debugging.
 */
export async function runCli(program: Command, argv: string[]): Promise<void> {
  try {
    refuseUnknownHelpTopic(program, argv);
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 1 ? 2 : error.exitCode;
      return;
    }
    if (isUserError(error)) {
      process.stderr.write(`claude-bottle: ${visibleLines(error.message)}\n`);
      if (debugging(argv) && error.cause instanceof Error && error.cause.stack)
        process.stderr.write(`${visibleLines(error.cause.stack)}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (isEngineError(error)) {
      // The engine's own words, one line: what failed and why; the command is safe to print.
      const said = error.stderr.trim().split("\n").at(-1) ?? "";
      process.stderr.write(
        `claude-bottle: the Docker engine failed (${visibleLines(error.shortMessage)})${said ? `: ${visibleLines(said)}` : ""}\n`,
      );
      if (debugging(argv) && error.stack) process.stderr.write(`${visibleLines(error.stack)}\n`);
      process.exitCode = 1;
      return;
    }
    const message = errorMessage(error);
    process.stderr.write(
      debugging(argv)
        ? `claude-bottle: internal error: ${visibleLines(error instanceof Error ? (error.stack ?? message) : message)}\n`
        : `claude-bottle: internal error: ${visibleLines(message.split("\n")[0] ?? message)} (run again with --debug for details, and please report it)\n`,
    );
    process.exitCode = 1;
  }
}

/** `help bogus` names the unknown command instead of printing the general help and exiting 0. */
function refuseUnknownHelpTopic(program: Command, argv: readonly string[]): void {
  const [verb, topic] = argv.slice(2).filter((arg) => !arg.startsWith("-"));
  if (verb !== "help" || topic === undefined) return;
  if (program.commands.some((command) => command.name() === topic || command.aliases().includes(topic)))
    return;
  throw new UserError(`unknown command \`${topic.slice(0, 40)}\`; \`claude-bottle help\` lists the commands`);
}
