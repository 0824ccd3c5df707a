import { UserError } from "../lib/user-error.ts";

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/**
 * A manifest that cannot be used. The message always starts with `file:line:column` so editors
 * and terminals can jump to it, and ends with what to do. It never quotes a value: values may be
 * secrets.
 */
export class ManifestError extends UserError {
  readonly position: SourcePosition;

  constructor(position: SourcePosition, problem: string) {
    super(`${formatPosition(position)}: ${problem}`, { code: "E_MANIFEST" });
    this.name = "ManifestError";
    this.position = position;
  }
}

function formatPosition({ file, line, column }: SourcePosition): string {
  return `${file}:${line}:${column}`;
}
