import { formatBytes } from "../../lib/bytes.ts";
import type { Oversized, PushFinding } from "./scan-push.ts";

/** At most this many findings are listed; the rest are counted. */
export const MAX_LISTED = 20;

/** One finding in a line: ref, object, path, line and rule; the excerpt is masked, never the secret. */
function describeFinding({ ref, object, commit, place, path, finding }: PushFinding): string {
  const where =
    place === "blob"
      ? `${commit ? `commit ${commit} ` : ""}file ${path}`
      : place === "tree"
        ? `tree ${object} path name ${path}`
        : place === "ref"
          ? "(ref name)"
          : `${place} ${object} ${path}`;
  const blob = place === "blob" ? ` (blob ${object})` : "";
  return `  ${ref}: ${where} line ${finding.line} column ${finding.column}: rule ${finding.ruleId} (${finding.description}) ${finding.excerpt}${blob}`;
}

/** Secrets upstream already holds at the same path: said, not blocking. */
export function renderWarnings(warnings: readonly PushFinding[]): string {
  if (warnings.length === 0) return "";
  const lines = [
    `git-gate: warning: ${warnings.length} secret${warnings.length === 1 ? " is" : "s are"} already upstream at the same path (not blocking; rotate ${warnings.length === 1 ? "it" : "them"} and remove ${warnings.length === 1 ? "it" : "them"}):`,
    ...warnings.slice(0, MAX_LISTED).map(describeFinding),
  ];
  if (warnings.length > MAX_LISTED) lines.push(`  ... and ${warnings.length - MAX_LISTED} more`);
  return `${lines.join("\n")}\n`;
}

/**
 * The refusal a pushing agent reads (as `remote:` lines): each finding names the ref, the object,
 * the path, the line and the rule; the excerpt is the scanner's masked one, never the secret.
 */
export function renderSecretRejection(
  remote: string,
  findings: readonly PushFinding[],
  oversized: readonly Oversized[],
): string {
  const lines: string[] = [];
  const problems = [
    ...(findings.length ? [`${findings.length} secret${findings.length === 1 ? "" : "s"} found`] : []),
    ...(oversized.length
      ? [`${oversized.length} file${oversized.length === 1 ? "" : "s"} too large to scan`]
      : []),
  ].join(" and ");
  lines.push(`git-gate: push to ${remote} rejected (${problems}); nothing was forwarded upstream.`);
  for (const finding of findings.slice(0, MAX_LISTED)) lines.push(describeFinding(finding));
  if (findings.length > MAX_LISTED) lines.push(`  ... and ${findings.length - MAX_LISTED} more`);
  for (const { blob, path, bytes } of oversized.slice(0, MAX_LISTED)) {
    lines.push(`  blob ${blob} file ${path}: ${bytes} bytes, over the gate's scan limit`);
  }
  if (findings.length) {
    lines.push(
      "Remove each secret from every commit, tag, file name and ref that adds it (git rebase -i, git commit --amend), then push again.",
      "Every object the push adds is scanned whole (files, commit and tag headers and messages, path names), so a secret removed by a later commit still counts.",
      "If a secret is real, rotate it.",
    );
  }
  if (oversized.length) lines.push("Large files cannot pass the gate; keep them out of the repository.");
  return `${lines.join("\n")}\n`;
}

/** One ref's outcome at the upstream, from `git push --porcelain`. */
export interface RefOutcome {
  ref: string;
  /** `git push --porcelain` flag: ' ' '+' '-' '*' '=' ok, '!' rejected. */
  flag: string;
  summary: string;
}

const refForwarded = (outcome: RefOutcome): boolean => outcome.flag !== "!";

/** The refusal when upstream refused some ref: which landed, which did not and why. */
export function renderForwardRejection(
  remote: string,
  outcomes: readonly RefOutcome[],
  upstreamSaid: string,
): string {
  const lines = [`git-gate: push to ${remote} rejected: upstream refused it.`];
  for (const outcome of outcomes) {
    lines.push(
      refForwarded(outcome)
        ? `  ${outcome.ref}: forwarded upstream: ${outcome.summary}`
        : `  ${outcome.ref}: refused by upstream: ${outcome.summary}`,
    );
  }
  const said = upstreamSaid
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("remote:") || line.startsWith("error:") || line.startsWith("hint:"))
    .slice(0, 10);
  for (const line of said) lines.push(`  upstream: ${line}`);
  if (outcomes.some(refForwarded)) {
    lines.push("Refs marked forwarded did land upstream; fetch to see them.");
  }
  lines.push("Fetch (the gate refreshes from upstream on every fetch), reconcile, and push again.");
  return `${lines.join("\n")}\n`;
}

/** A push refused because the gate's mirror of the repository is over limits.mirror. */
export function renderMirrorFull(remote: string, heldBytes: number, maxBytes: number): string {
  return `git-gate: push to ${remote} refused: the gate's copy of ${remote} holds ${formatBytes(heldBytes)} with this push, over the bottle's limits.mirror of ${formatBytes(maxBytes)}. Nothing was forwarded. Push less, or ask the operator to raise limits.mirror in the bottle manifest (a new bottle starts with a fresh copy).\n`;
}
