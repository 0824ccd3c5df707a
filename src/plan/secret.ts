import { inspect } from "node:util";

/**
 * A value that must never be printed: JSON, string conversion and util.inspect all show
 * `[redacted]`. Only `reveal()` gives the value, at the one place that hands it to a container.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return "[redacted]";
  }

  toString(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}
