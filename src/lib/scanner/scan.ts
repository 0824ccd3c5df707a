import { scanText } from "./engine.ts";
import { maskSecret } from "./mask.ts";
import { createPositionMapper } from "./positions.ts";
import { ruleSetFor } from "./rule-set.ts";
import type { Finding, RawFinding, ScanOptions } from "./types.ts";

export function scan(text: string, options: ScanOptions = {}): Finding[] {
  const raw = scanText(text, {
    ruleSet: ruleSetFor(options.extraPatterns),
    knownTokens: options.knownTokens ?? [],
  });
  if (raw.length === 0) return [];
  const position = createPositionMapper(text);
  return keepBest(raw)
    .filter((finding) => finding.veto !== true)
    .sort((a, b) => a.offset - b.offset || a.priority - b.priority)
    .map((finding) => ({
      ruleId: finding.ruleId,
      description: finding.description,
      ...position(finding.offset),
      excerpt: maskSecret(finding.secret),
      length: finding.secret.length,
    }));
}

/**
 * One secret, one finding: a token found by its provider rule, by the generic assignment rule
 * and again inside a decoded layer is reported once, by the most specific rule. Known-token
 * matches are always kept, since callers act on their names.
 */
function keepBest(raw: RawFinding[]): RawFinding[] {
  const byStart = [...raw].sort((a, b) => a.offset - b.offset);
  const kept: RawFinding[] = [];
  let cluster: RawFinding[] = [];
  let clusterEnd = -1;
  for (const finding of byStart) {
    if (finding.offset >= clusterEnd && cluster.length > 0) {
      kept.push(...bestOfCluster(cluster));
      cluster = [];
    }
    cluster.push(finding);
    clusterEnd = Math.max(clusterEnd, finding.end, finding.offset + 1);
  }
  kept.push(...bestOfCluster(cluster));
  return kept;
}

/** Findings whose spans overlap (transitively): keep the most specific non-overlapping ones. */
function bestOfCluster(cluster: RawFinding[]): RawFinding[] {
  if (cluster.length <= 1) return cluster;
  const kept: RawFinding[] = [];
  for (const finding of cluster.sort((a, b) => a.priority - b.priority)) {
    const end = Math.max(finding.end, finding.offset + 1);
    const clash = kept.some((k) =>
      finding.priority < 0 || k.priority < 0
        ? k.ruleId === finding.ruleId && k.offset === finding.offset
        : finding.offset < Math.max(k.end, k.offset + 1) && k.offset < end,
    );
    if (!clash) kept.push(finding);
  }
  return kept;
}
