/**
 * An error the user can act on: the message says what is wrong and what to do. The CLI prints
 * only the message (no stack) and exits with `exitCode` (2 by default: bad input).
 */
export class UserError extends Error {
  readonly exitCode: number;
  readonly code: string;

  constructor(message: string, options: { code?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UserError";
    this.code = options.code ?? "E_USER";
    this.exitCode = options.exitCode ?? 2;
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** An error's message, or the thrown value as text when it is not an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
