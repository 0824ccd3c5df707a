import { type TextSink, terminalSafeSink, visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import type { PlanContext } from "../plan/plan-for.ts";

export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: TextSink;
  stderr: TextSink;
}

/** The process's context; its output streams let no control character through but colours. */
export function processContext(): CliContext {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    throw new UserError(
      "the current directory no longer exists (it was deleted or moved); cd to a directory and retry",
    );
  }
  return {
    env: process.env,
    cwd,
    stdout: terminalSafeSink(process.stdout),
    stderr: terminalSafeSink(process.stderr),
  };
}

/** Planning's view of the CLI's context: a warning is one terminal-safe line on stderr. */
export function planContext(context: CliContext): PlanContext {
  return {
    env: context.env,
    cwd: context.cwd,
    warn: (warning) => context.stderr.write(`claude-bottle: warning: ${visible(warning)}\n`),
  };
}
