/**
 * One error type for every failed Docker call, shaped like execa's: the command, its exit code
 * or signal, whether it timed out, the tail of its stderr, a one-line `shortMessage` and a full
 * `message`. The argv never holds secrets (environment values travel out of band), so the
 * command is safe to print.
 */
export interface EngineErrorDetails {
  command: readonly string[];
  exitCode?: number | undefined;
  signal?: string | undefined;
  stderr?: string;
  timedOut?: boolean;
  /** What went wrong when it was not the exit status (spawn failure, output too large). */
  reason?: string;
  cause?: unknown;
}

export class EngineError extends Error {
  readonly code = "E_ENGINE";
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly shortMessage: string;

  constructor(details: EngineErrorDetails) {
    const shortMessage = `${describeFailure(details)}: ${formatCommand(details.command)}`;
    const stderr = (details.stderr ?? "").trim();
    super(stderr === "" ? shortMessage : `${shortMessage}\n${stderr}`, { cause: details.cause });
    this.name = "EngineError";
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr ?? "";
    this.timedOut = details.timedOut ?? false;
    this.shortMessage = shortMessage;
  }

  /** True when the engine said the object does not exist. */
  get isNotFound(): boolean {
    return NOT_FOUND.test(this.stderr);
  }
}

/** How the engine says an object does not exist ("No such container: x", "network x not found"). */
export const NOT_FOUND = /no such (object|image|container|network)|not found|could not find the file/i;

export function isEngineError(error: unknown): error is EngineError {
  return error instanceof EngineError;
}

function describeFailure(details: EngineErrorDetails): string {
  if (details.reason !== undefined) return details.reason;
  if (details.timedOut) return "Command timed out";
  if (details.signal !== undefined) return `Command was killed with ${details.signal}`;
  return `Command failed with exit code ${details.exitCode ?? "unknown"}`;
}

/** Renders an argv for humans, quoting only what needs it. */
function formatCommand(command: readonly string[]): string {
  return command
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

/** A containerCopyBetween stopped at its cap. */
export class CopyTooLargeError extends Error {
  readonly maxBytes: number;
  constructor(path: string, maxBytes: number) {
    super(`${path} holds more than ${maxBytes} bytes (apparent size); the copy was stopped there`);
    this.name = "CopyTooLargeError";
    this.maxBytes = maxBytes;
  }
}
