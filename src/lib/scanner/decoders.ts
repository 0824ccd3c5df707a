/**
 * Decoding layers. Each decoder returns the decoded text and, for every decoded character, the
 * offset of the encoded character it came from, so findings point into the original input.
 */
export interface Decoded {
  text: string;
  /** map[i] = offset in the encoded segment of decoded char i; map[text.length] = segment end */
  map: Int32Array;
}

const MIN_PRINTABLE_RATIO = 0.95;

/**
 * ASCII text encodes to base64 whose every 4th character is in `A-Za-f` (its 6 bits are the
 * top of a byte below 0x80). Checking that first rejects identifiers and binary blobs without
 * decoding them.
 */
function mayEncodeText(candidate: string): boolean {
  const limit = Math.min(candidate.length, 64);
  for (let i = 0; i < limit; i += 4) {
    const code = candidate.charCodeAt(i);
    if (!((code >= 65 && code <= 90) || (code >= 97 && code <= 102))) return false;
  }
  return true;
}

/** Decodes a base64 (standard or URL-safe) candidate; null unless the result is mostly text. */
export function decodeBase64Text(candidate: string): string | null {
  if (!mayEncodeText(candidate)) return null;
  const bytes = Buffer.from(candidate, "base64");
  if (bytes.length < 12) return null;
  let printable = 0;
  for (const byte of bytes) {
    if ((byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d) printable++;
  }
  if (printable / bytes.length < MIN_PRINTABLE_RATIO) return null;
  return bytes.toString("latin1");
}

/** Decodes a run of hex digits (even length); null unless the result is mostly text. */
export function decodeHexText(candidate: string): string | null {
  if (candidate.length < 24 || candidate.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(candidate)) return null;
  const bytes = Buffer.from(candidate, "hex");
  let printable = 0;
  for (const byte of bytes) {
    if ((byte >= 0x20 && byte < 0x7f) || byte === 0x09 || byte === 0x0a || byte === 0x0d) printable++;
  }
  return printable / bytes.length < MIN_PRINTABLE_RATIO ? null : bytes.toString("latin1");
}

/**
 * Runs of UTF-16 text (a NUL beside every character, as a UTF-16LE or BE body reads when decoded
 * as UTF-8), at least `minChars` long: `[start, end)` pairs of offsets with the NULs dropped.
 */
export function utf16Runs(text: string, minChars = 8): { start: number; text: string }[] {
  const runs: { start: number; text: string }[] = [];
  let index = text.indexOf("\u0000");
  while (index !== -1 && index < text.length) {
    // Little-endian: the character before the NUL; big-endian: the one after.
    const start = index > 0 && text[index - 1] !== "\u0000" ? index - 1 : index;
    const charAt = start === index ? 1 : 0;
    let end = start;
    const chars: string[] = [];
    while (end + 1 < text.length + (charAt === 0 ? 1 : 0)) {
      const char = text[end + charAt];
      const nul = text[end + 1 - charAt];
      if (char === undefined || nul !== "\u0000" || char === "\u0000") break;
      chars.push(char);
      end += 2;
    }
    if (chars.length >= minChars) runs.push({ start, text: chars.join("") });
    index = text.indexOf("\u0000", Math.max(end, index + 1));
  }
  return runs;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/** `%41` → `A`. Each escape is one byte, read as Latin-1: secrets are ASCII. */
export function decodePercent(segment: string): Decoded {
  const out: string[] = [];
  const map = new Int32Array(segment.length + 1);
  let i = 0;
  while (i < segment.length) {
    map[out.length] = i;
    if (segment.charCodeAt(i) === 37 && i + 2 < segment.length + 0) {
      const high = hexValue(segment.charCodeAt(i + 1));
      const low = hexValue(segment.charCodeAt(i + 2));
      if (high >= 0 && low >= 0) {
        out.push(String.fromCharCode(high * 16 + low));
        i += 3;
        continue;
      }
    }
    out.push(segment[i]!);
    i++;
  }
  map[out.length] = segment.length;
  return { text: out.join(""), map: map.subarray(0, out.length + 1) };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  n: "\n",
  r: "\r",
  t: "\t",
  b: "\b",
  f: "\f",
};

/** JSON string escapes: `\u0041`, `\/`, `\"`, `\n`. */
export function decodeJsonEscapes(segment: string): Decoded {
  const out: string[] = [];
  const map = new Int32Array(segment.length + 1);
  let i = 0;
  while (i < segment.length) {
    map[out.length] = i;
    if (segment.charCodeAt(i) === 92 && i + 1 < segment.length) {
      const next = segment[i + 1]!;
      if (next === "u" && i + 5 < segment.length + 0) {
        const code = Number.parseInt(segment.slice(i + 2, i + 6), 16);
        if (/^[0-9a-fA-F]{4}$/.test(segment.slice(i + 2, i + 6))) {
          out.push(String.fromCharCode(code));
          i += 6;
          continue;
        }
      }
      const simple = SIMPLE_ESCAPES[next];
      if (simple !== undefined) {
        out.push(simple);
        i += 2;
        continue;
      }
    }
    out.push(segment[i]!);
    i++;
  }
  map[out.length] = segment.length;
  return { text: out.join(""), map: map.subarray(0, out.length + 1) };
}
