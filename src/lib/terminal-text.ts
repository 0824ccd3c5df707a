/**
 * Text from a manifest, an agent, a sidecar or the engine is shown on the host's terminal with its
 * control characters made visible: an escape sequence in a justification, a prompt or an audit
 * line must not move the cursor, recolour, hide, retitle or rewrite what the operator reads.
 *
 * Made visible: C0 controls and DEL (`\x1b` → `\x1b` as four characters), C1 controls, and the
 * Unicode characters that reorder or break lines (bidi overrides and isolates, U+2028/2029).
 */
// Built from strings: a control character in a regex literal is what linters rightly flag.
const OTHER = "\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";
const CONTROL = new RegExp(`[\\u0000-\\u001f${OTHER}]`, "g");
const CONTROL_EXCEPT_LINES = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${OTHER}]`, "g");
/**
 * Our own colours pass `terminalSafe` (picocolors' bold, dim, red, green, yellow, cyan and their
 * resets); any other escape sequence does not, `ESC[8m` (hidden text) included.
 */
const OWN_STYLE_OR_CONTROL = new RegExp(
  `\\u001b\\[(?:1|2|22|31|32|33|36|39)m|[\\u0000-\\u0008\\u000b-\\u001f${OTHER}]`,
  "g",
);

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One line of untrusted text: every control character, line breaks included, made visible. */
export function visible(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/** Untrusted text of several lines: line breaks and tabs kept, every other control made visible. */
export function visibleLines(text: string): string {
  return text.replace(CONTROL_EXCEPT_LINES, escapeChar);
}

/**
 * The last line of defence for the CLI's own output streams: whatever reaches them, only line
 * breaks, tabs and colour codes stay terminal controls. Untrusted fields are still passed through
 * `visible` where they are rendered, so a colour code inside them is shown, not obeyed.
 */
export function terminalSafe(text: string): string {
  return text.replace(OWN_STYLE_OR_CONTROL, (match) => (match.length > 1 ? match : escapeChar(match)));
}

/** Where the CLI writes text for people: a terminal, a pipe, or a test's buffer. */
export interface TextSink {
  write(text: string): unknown;
}

/** A sink that passes everything written to it through `terminalSafe`. */
export function terminalSafeSink(stream: TextSink): TextSink {
  return { write: (text: string) => stream.write(terminalSafe(text)) };
}

const JSON_UNSAFE = new RegExp(`[${OTHER}]`, "g");

/**
 * One JSON document for scripts that is also terminal-safe: JSON escapes C0 controls itself; DEL,
 * C1 and the line-breaking and reordering characters become `\uXXXX` escapes (still valid JSON),
 * so `terminalSafe` finds nothing left to rewrite.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
