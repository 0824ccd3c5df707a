/** How a manifest env value is filled in. */
export type EnvSource =
  | { kind: "literal"; value: string }
  | { kind: "host"; variable: string }
  | { kind: "prompt"; question: string };

/** A container's environment is lines of NAME=VALUE: a line break or NUL cannot be carried. */
export function hasLineBreak(value: string): boolean {
  return /[\n\r\0]/.test(value);
}

const HOST_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** `${VAR}` copies a host variable, `?text` asks at launch, anything else is literal. */
export function classifyEnvValue(value: string): EnvSource {
  const reference = HOST_REFERENCE.exec(value);
  if (reference) return { kind: "host", variable: reference[1]! };
  if (value.startsWith("?")) return { kind: "prompt", question: value.slice(1).trim() || "value" };
  return { kind: "literal", value };
}
