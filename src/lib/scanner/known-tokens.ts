import { createHash } from "node:crypto";
import type { KnownToken } from "./types.ts";

export function fingerprintToken(name: string, value: string): KnownToken {
  return { name, sha256: sha256Hex(value), length: value.length };
}

function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

// Only a hash and a length are known, so candidates are substrings of that length cut at token
// boundaries: the ends of a run, and just after/before a separator inside it (`Bearer`, `key=`,
// `-`, `.`, `/`). A token glued to other letters on both sides is not found; that is the price
// of never holding the value.
const SEPARATOR_CHARS = "_.~+/=:-";
const STRICT_RUN = charTable((c) => /[A-Za-z0-9]/.test(c) || SEPARATOR_CHARS.includes(c));
const LOOSE_RUN = charTable((c) => !/[\s"'`,;<>]/.test(c));
const SEPARATORS = charTable((c) => SEPARATOR_CHARS.includes(c));

function charTable(member: (char: string) => boolean): Uint8Array {
  const table = new Uint8Array(128);
  for (let code = 0; code < 128; code++) table[code] = member(String.fromCharCode(code)) ? 1 : 0;
  return table;
}

export function findKnownTokens(
  text: string,
  tokens: readonly KnownToken[],
  report: (token: KnownToken, offset: number) => void,
): void {
  if (tokens.length === 0) return;
  const byLength = new Map<number, Map<string, KnownToken>>();
  for (const token of tokens) {
    let bucket = byLength.get(token.length);
    if (bucket === undefined) {
      bucket = new Map();
      byLength.set(token.length, bucket);
    }
    bucket.set(token.sha256.toLowerCase(), token);
  }
  const minLength = Math.min(...byLength.keys());
  const reported = new Set<string>();
  const check = (start: number, length: number, bucket: Map<string, KnownToken>) => {
    const key = `${start}:${length}`;
    if (reported.has(key)) return;
    const token = bucket.get(sha256Hex(text.slice(start, start + length)));
    if (token !== undefined) {
      reported.add(key);
      report(token, start);
    }
  };
  for (const [table, nonAscii] of [
    [STRICT_RUN, 0],
    [LOOSE_RUN, 1],
  ] as const) {
    let runStart = -1;
    for (let i = 0; i <= text.length; i++) {
      const code = i < text.length ? text.charCodeAt(i) : 32;
      const inside = code < 128 ? table[code] === 1 : nonAscii === 1;
      if (inside && runStart < 0) runStart = i;
      if (inside || runStart < 0) continue;
      const runEnd = i;
      if (runEnd - runStart >= minLength) checkRun(text, runStart, runEnd, byLength, check);
      runStart = -1;
    }
  }
}

/**
 * A candidate must start at a boundary (run start, just after a separator) and end at one (run
 * end, just before a separator): hashing every separator-aligned substring would make a body
 * full of `:` and `/` cost one SHA-256 per character.
 */
function checkRun(
  text: string,
  runStart: number,
  runEnd: number,
  byLength: Map<number, Map<string, KnownToken>>,
  check: (start: number, length: number, bucket: Map<string, KnownToken>) => void,
): void {
  const starts = [runStart];
  const isEnd = new Uint8Array(runEnd - runStart + 1);
  isEnd[runEnd - runStart] = 1;
  for (let j = runStart; j < runEnd; j++) {
    const code = text.charCodeAt(j);
    if (code >= 128 || SEPARATORS[code] !== 1) continue;
    starts.push(j + 1);
    isEnd[j - runStart] = 1;
  }
  for (const [length, bucket] of byLength) {
    for (const start of starts) {
      if (start + length <= runEnd && isEnd[start + length - runStart] === 1) check(start, length, bucket);
    }
  }
}
