import { appendFileSync } from "node:fs";
import type { RefUpdate } from "./push-updates.ts";
import type { PushFinding, PushScan } from "./scan-push.ts";

/** One line of git-gate-audit.jsonl: a push, what it carried, what was found, and the outcome. */
export interface PushAuditRecord {
  time: string;
  kind: "push";
  remote: string;
  refs: { ref: string; old: string; new: string }[];
  objects: number;
  commits: number;
  blobs: number;
  /** Where each finding sits and by which rule: never the secret, nor its masked excerpt. */
  findings: AuditedFinding[];
  /** Secrets upstream already held at the same path (not blocking). */
  warnings: AuditedFinding[];
  oversized: number;
  outcome: "forwarded" | "rejected-secrets" | "rejected-mirror-full" | "rejected-upstream" | "error";
  forwarded: boolean;
  error?: string;
}

interface AuditedFinding {
  rule: string;
  ref: string;
  place: string;
  object: string;
  path: string;
  line: number;
}

const audited = (finding: PushFinding): AuditedFinding => ({
  rule: finding.finding.ruleId,
  ref: finding.ref,
  place: finding.place,
  object: finding.object,
  path: finding.path,
  line: finding.finding.line,
});

export function pushAuditRecord(
  remote: string,
  updates: readonly RefUpdate[],
  scanned: PushScan | undefined,
  outcome: PushAuditRecord["outcome"],
  error?: string,
): PushAuditRecord {
  return {
    time: new Date().toISOString(),
    kind: "push",
    remote,
    refs: updates.map((update) => ({ ref: update.ref, old: update.oldSha, new: update.newSha })),
    objects: scanned?.objects ?? 0,
    commits: scanned?.commits ?? 0,
    blobs: scanned?.blobs ?? 0,
    findings: (scanned?.findings ?? []).map(audited),
    warnings: (scanned?.warnings ?? []).map(audited),
    oversized: scanned?.oversized.length ?? 0,
    outcome,
    forwarded: outcome === "forwarded",
    ...(error === undefined ? {} : { error }),
  };
}

/** Appends one line; a failing audit never changes the push's outcome (it is said on stderr). */
export function appendPushAudit(file: string | undefined, record: PushAuditRecord): void {
  if (file === undefined) return;
  try {
    appendFileSync(file, `${JSON.stringify(record)}\n`, { mode: 0o640 });
  } catch (error) {
    process.stderr.write(
      `git-gate: could not write the push audit (${(error as NodeJS.ErrnoException).code ?? String(error)})\n`,
    );
  }
}
