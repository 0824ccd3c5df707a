import { homedir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The claude-bottle home (`CLAUDE_BOTTLE_HOME`, else `~/.claude-bottle`) and every path under it;
 * nothing else spells them.
 *
 *   bottles/ agents/ skills/     the user's manifests and skills
 *   state/<instance>.json        each running bottle's record
 *   logs/<instance>/             the host's audit files, and one dir per sidecar that writes one
 *   queue/<instance>/            supervise's proposals (mounted into its sidecar)
 *   current-config/<instance>/   the policy the agent may read (copied into it)
 *   cache/                       staged image build contexts, the isolation probe's answer
 *
 * A project's own `.claude-bottle/` (agents only) sits in its directory: `projectDir`.
 */

/** Where manifests and state live: `CLAUDE_BOTTLE_HOME`, else `~/.claude-bottle`. */
export function bottleHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.CLAUDE_BOTTLE_HOME || join(homedir(), ".claude-bottle"));
}

/** The dirs directly under the home. */
export function homeLayout(home: string) {
  return {
    bottles: join(home, "bottles"),
    agents: join(home, "agents"),
    skills: join(home, "skills"),
    state: join(home, "state"),
    logs: join(home, "logs"),
    queue: join(home, "queue"),
    currentConfig: join(home, "current-config"),
    /** Parent of the staged image build contexts. */
    imageCache: join(home, "cache", "images"),
    /** The isolation probe's cached answer. */
    isolationCache: join(home, "cache", "isolation.json"),
  } as const;
}

/** A project's `.claude-bottle` dir, in the directory the CLI runs in. */
export function projectDir(cwd: string): string {
  return join(resolve(cwd), ".claude-bottle");
}

/** A bottle's log dir: logs/<instance>/. */
export function instanceLogDir(home: string, instance: string): string {
  return join(homeLayout(home).logs, instance);
}

/**
 * The egress proxy's own log dir, below the instance's: the proxy can write only there, never
 * beside the host's own audit files (supervise-audit.jsonl) in logs/<instance>/.
 */
export function egressLogDir(logDir: string): string {
  return join(logDir, "egress");
}

/** cred-proxy's log dir, likewise: one audit line per request. */
export function credProxyLogDir(logDir: string): string {
  return join(logDir, "cred-proxy");
}

/** git-gate's log dir, likewise: one audit line per push. */
export function gitGateLogDir(logDir: string): string {
  return join(logDir, "git-gate");
}

/** supervise's audit file, in the bottle's log dir (logs/<instance>/). */
export const SUPERVISE_AUDIT_FILE = "supervise-audit.jsonl";

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
  const layout = homeLayout(home);
  return {
    queue: join(layout.queue, instance),
    currentConfig: join(layout.currentConfig, instance),
    auditFile: join(instanceLogDir(home, instance), SUPERVISE_AUDIT_FILE),
  };
}
