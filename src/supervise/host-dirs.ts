import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { INSTANCE_ID } from "../backend/instance.ts";

/** Where supervise keeps each bottle's files on the host, under the claude-bottle home. */
export interface SuperviseDirs {
  /** Bind-mounted read-write into the supervise sidecar at /run/supervise/queue. */
  queue: string;
  /** Bind-mounted read-only into the agent (and the sidecar) at /etc/claude-bottle/current-config. */
  currentConfig: string;
  /** Every decision, one JSON line each, beside the egress audit log. */
  auditFile: string;
}

/** supervise's audit file, in the bottle's log dir (logs/<instance>/). */
export const SUPERVISE_AUDIT_FILE = "supervise-audit.jsonl";

export function superviseDirs(home: string, instance: string): SuperviseDirs {
  return {
    queue: join(home, "queue", instance),
    currentConfig: join(home, "current-config", instance),
    auditFile: join(home, "logs", instance, SUPERVISE_AUDIT_FILE),
  };
}

export function queueRoot(home: string): string {
  return join(home, "queue");
}

/**
 * Removes supervise's host dirs of every instance not in `keep` (the audit log in logs/ stays).
 * A bottle torn down by its own CLI removes them itself; this is for `stop` of a detached bottle
 * and for `cleanup` after a CLI that was killed.
 */
export function removeSuperviseDirs(home: string, keep: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  for (const root of [join(home, "queue"), join(home, "current-config")]) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      if (keep.has(name) || !INSTANCE_ID.test(name)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(join(root, name));
    }
  }
  return removed;
}
