import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { appendHostFile } from "../lib/host-files.ts";
import { lineDiff } from "./diff.ts";

/** One line of `logs/<instance>/supervise-audit.jsonl`: every decision and operator edit. */
export interface AuditEntry {
  time: string;
  instance: string;
  /** Absent for an operator's own edit from the dashboard. */
  proposal?: string;
  kind: "egress" | "routes" | "capability";
  decision: "approved" | "modified" | "rejected" | "apply-failed" | "operator-edit";
  operator: string;
  justification?: string;
  /** The operator's note (approve, edit) or reason (reject). */
  note?: string;
  /** Policy before and after, as text; equal when nothing changed (a rejection, a failure). */
  before: string;
  after: string;
  /** Unified-style line diff of before → after (or of the proposed change, when not applied). */
  diff: string[];
  error?: string;
}

export function auditEntry(
  fields: Omit<AuditEntry, "time" | "diff"> & { proposedAfter?: string },
  now: Date = new Date(),
): AuditEntry {
  const { proposedAfter, ...rest } = fields;
  const diff = lineDiff(fields.before, proposedAfter ?? fields.after).filter((line) => !line.startsWith(" "));
  return { time: now.toISOString(), ...rest, diff };
}

/** Appends in logs/<instance>/ (no sidecar mounts it; still never through a link or into a FIFO). */
export function appendAudit(file: string, entry: AuditEntry): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendHostFile(file, `${JSON.stringify(entry)}\n`);
}
