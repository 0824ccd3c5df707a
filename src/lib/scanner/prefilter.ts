import type { KeywordAutomaton } from "./keyword-automaton.ts";

/**
 * One pass over the text that collects everything the costly stages need: keyword hits for the
 * rules, runs of base64 alphabet for the base64 layer, `%` and `\` positions for the other
 * decoders. Kept tiny and monomorphic: this loop is the scanner's throughput.
 */
export interface PrefilterResult {
  /** pairs (keyword end offset, automaton state) */
  keywordHits: number[];
  /** pairs (start, end) of base64-alphabet runs at least `minBase64Run` long */
  base64Runs: number[];
  percentHits: number[];
  escapeHits: number[];
}

const FLAG_BASE64 = 1;
const FLAG_PERCENT = 2;
const FLAG_BACKSLASH = 4;

/** Per UTF-16 code unit: automaton symbol (low 7 bits) and character-class flags. */
const SYMBOL = new Uint8Array(65536);
const FLAGS = new Uint8Array(65536);
for (let code = 0; code < 128; code++) SYMBOL[code] = code >= 65 && code <= 90 ? code + 32 : code;
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
  FLAGS[c.charCodeAt(0)] = FLAG_BASE64;
FLAGS[37] = FLAG_PERCENT;
FLAGS[92] = FLAG_BACKSLASH;

/** `\u0041`, `\"`, `\/` start a JSON escape worth decoding; `\n` alone does not (every source file has it). */
function isEscapeTrigger(code: number): boolean {
  return code === 0x75 || code === 0x22 || code === 0x2f;
}

export function prefilter(text: string, automaton: KeywordAutomaton, minBase64Run: number): PrefilterResult {
  const { delta, hasOutput } = automaton;
  const keywordHits: number[] = [];
  const base64Runs: number[] = [];
  const percentHits: number[] = [];
  const escapeHits: number[] = [];
  const length = text.length;
  let state = 0;
  let runStart = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    state = delta[(state << 7) | SYMBOL[code]!]!;
    if (hasOutput[state] === 1) keywordHits.push(i, state);
    const flags = FLAGS[code]!;
    if (flags !== FLAG_BASE64) {
      if (i - runStart >= minBase64Run) base64Runs.push(runStart, i);
      runStart = i + 1;
      if (flags === FLAG_PERCENT) percentHits.push(i);
      else if (flags === FLAG_BACKSLASH && isEscapeTrigger(text.charCodeAt(i + 1))) escapeHits.push(i);
    }
  }
  if (length - runStart >= minBase64Run) base64Runs.push(runStart, length);
  return { keywordHits, base64Runs, percentHits, escapeHits };
}
