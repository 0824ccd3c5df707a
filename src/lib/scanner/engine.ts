import {
  type Decoded,
  decodeBase64Text,
  decodeHexText,
  decodeJsonEscapes,
  decodePercent,
  utf16Runs,
} from "./decoders.ts";
import { findKnownTokens } from "./known-tokens.ts";
import { isPlaceholder } from "./placeholders.ts";
import { prefilter } from "./prefilter.ts";
import type { RuleSet } from "./rule-set.ts";
import type { KnownToken, RawFinding } from "./types.ts";

/** Encodings nest (base64 of a URL with %-escapes…) but only a few levels deep in practice. */
const MAX_DEPTH = 3;
const MIN_BASE64_RUN = 24;
/** Decoded segments around an escape reach this far on each side, within the line. */
const SEGMENT_REACH = 2048;

interface Layer {
  text: string;
  depth: number;
  toOriginal: (offset: number) => number;
}

export interface EngineInput {
  ruleSet: RuleSet;
  knownTokens: readonly KnownToken[];
}

export function scanText(text: string, input: EngineInput): RawFinding[] {
  const findings: RawFinding[] = [];
  scanLayer({ text, depth: 0, toOriginal: (offset) => offset }, input, findings);
  return findings;
}

function scanLayer(layer: Layer, input: EngineInput, out: RawFinding[]): void {
  const { text } = layer;
  const { rules, automaton, rulesByKeyword } = input.ruleSet;
  const { outputs, keywords } = automaton;
  const coveredUntil = new Int32Array(rules.length);
  const { keywordHits, base64Runs, percentHits, escapeHits } = prefilter(text, automaton, MIN_BASE64_RUN);
  for (let h = 0; h < keywordHits.length; h += 2) {
    const end = keywordHits[h]!;
    for (const keywordIndex of outputs[keywordHits[h + 1]!]!) {
      const start = end + 1 - keywords[keywordIndex]!.length;
      for (const ruleIndex of rulesByKeyword[keywordIndex]!) {
        if (start < coveredUntil[ruleIndex]!) continue;
        const matchEnd = runRule(layer, input, ruleIndex, start, out);
        if (matchEnd > 0) coveredUntil[ruleIndex] = matchEnd;
      }
    }
  }

  for (const rule of input.ruleSet.unanchored) {
    rule.pattern.lastIndex = 0;
    for (const match of text.matchAll(rule.pattern)) {
      if (match[0].length === 0) continue;
      out.push({
        priority: rules.length,
        ruleId: rule.id,
        description: rule.description,
        offset: layer.toOriginal(match.index),
        end: layer.toOriginal(match.index + match[0].length),
        secret: match[0],
      });
    }
  }
  findKnownTokens(text, input.knownTokens, (token, offset) => {
    out.push({
      priority: -1,
      end: layer.toOriginal(offset + token.length),
      ruleId: `known-token:${token.name}`,
      description: `known token ${token.name}`,
      offset: layer.toOriginal(offset),
      secret: text.slice(offset, offset + token.length),
    });
  });
  if (layer.depth >= MAX_DEPTH) return;
  scanBase64Runs(layer, base64Runs, input, out);
  if (text.includes("\u0000")) {
    for (const run of utf16Runs(text)) {
      const origin = layer.toOriginal(run.start);
      scanLayer({ text: run.text, depth: layer.depth + 1, toOriginal: () => origin }, input, out);
    }
  }
  scanEscapedSegments(layer, percentHits, decodePercent, input, out);
  scanEscapedSegments(layer, escapeHits, decodeJsonEscapes, input, out);
}

/** Runs one rule anchored at `start`; returns the end of its match (0 when none). */
function runRule(
  layer: Layer,
  input: EngineInput,
  ruleIndex: number,
  start: number,
  out: RawFinding[],
): number {
  const rule = input.ruleSet.rules[ruleIndex]!;
  const { pattern } = rule;
  pattern.lastIndex = start;
  const match = pattern.exec(layer.text);
  if (match === null) return 0;
  const before = match.groups?.before ?? "";
  const secret = before + (match.groups?.secret ?? match[0]);
  const valid =
    (rule.validate === undefined || rule.validate(secret.slice(before.length), match)) &&
    (rule.allowPlaceholderLike === true || !isPlaceholder(secret));
  if (valid || rule.vetoOnInvalid === true) {
    const secretStart =
      match.groups?.secret === undefined ? match.index : match.index + match[0].indexOf(match.groups.secret);
    out.push({
      priority: ruleIndex,
      ruleId: rule.id,
      description: rule.description,
      offset: layer.toOriginal(secretStart - before.length),
      end: layer.toOriginal(secretStart + secret.length - before.length),
      secret,
      ...(valid ? {} : { veto: true as const }),
    });
  }
  return match.index + match[0].length;
}

function scanBase64Runs(layer: Layer, runs: number[], input: EngineInput, out: RawFinding[]): void {
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r]!;
    let end = runs[r + 1]!;
    while (end < layer.text.length && end - runs[r + 1]! < 2 && layer.text[end] === "=") end++;
    const run = layer.text.slice(start, end);
    // Hex digits are base64 letters too: a run of them is tried as hex first.
    const decoded = decodeHexText(run) ?? decodeBase64Text(run);
    if (decoded === null) continue;
    const origin = layer.toOriginal(start);
    scanLayer({ text: decoded, depth: layer.depth + 1, toOriginal: () => origin }, input, out);
  }
}

function scanEscapedSegments(
  layer: Layer,
  hits: number[],
  decode: (segment: string) => Decoded,
  input: EngineInput,
  out: RawFinding[],
): void {
  const { text } = layer;
  let segmentEnd = -1;
  for (const hit of hits) {
    if (hit < segmentEnd) continue;
    let start = hit;
    const lowest = Math.max(0, hit - SEGMENT_REACH);
    while (start > lowest && text.charCodeAt(start - 1) !== 10) start--;
    segmentEnd = hit;
    const highest = Math.min(text.length, hit + SEGMENT_REACH);
    while (segmentEnd < highest && text.charCodeAt(segmentEnd) !== 10) segmentEnd++;
    const segment = text.slice(start, segmentEnd);
    const decoded = decode(segment);
    if (decoded.text === segment) continue;
    const { map } = decoded;
    scanLayer(
      {
        text: decoded.text,
        depth: layer.depth + 1,
        toOriginal: (offset) => layer.toOriginal(start + map[offset]!),
      },
      input,
      out,
    );
  }
}
