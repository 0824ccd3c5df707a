import { join } from "node:path";

/** Where supervise keeps each bottle's files on the host, under the claude-bottle home. */
export interface SuperviseDirs {
  /** Bind-mounted read-write into the supervise sidecar at /run/supervise/queue. */
  queue: string;
  /** Bind-mounted read-only into the agent (and the sidecar) at /etc/claude-bottle/current-config. */
  currentConfig: string;
  /** Every decision, one JSON line each, beside the egress audit log. */
  auditFile: string;
}

export function superviseDirs(home: string, instance: string): SuperviseDirs {
  return {
    queue: join(home, "queue", instance),
    currentConfig: join(home, "current-config", instance),
    auditFile: join(home, "logs", instance, "supervise-audit.jsonl"),
  };
}

export function queueRoot(home: string): string {
  return join(home, "queue");
}
