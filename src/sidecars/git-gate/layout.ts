/**
 * Where things live in the git-gate container. Shared by the gate and by the host-side module that
 * copies its files in (src/backend/docker/sidecars/git-gate.ts), so both agree by construction.
 */
export const GIT_GATE = {
  /** Network alias the agent reaches; also the host part of every gate URL. */
  alias: "git-gate",
  /** git daemon's port (the git:// default, so gate URLs need none). */
  port: 9418,
  /** Config written by the host: remotes, file paths, known-token fingerprints. */
  configFile: "/etc/claude-bottle/git-gate/config.json",
  /** Per-remote private keys (mode 600, owned by the gate user) and pinned host keys. */
  keysDir: "/etc/claude-bottle/git-gate/keys",
  knownHostsDir: "/etc/claude-bottle/git-gate/known_hosts",
  /** The gate user's writable state: one bare mirror per remote, the hook scripts. */
  stateDir: "/home/node/git-gate",
  /** Host dir (logs/<instance>/git-gate/) where each push leaves one audit line. */
  auditDir: "/var/log/claude-bottle",
  auditFile: "/var/log/claude-bottle/git-gate-audit.jsonl",
  /** The gate runs as the sidecar image's unprivileged user. */
  uid: 1000,
  gid: 1000,
} as const;

/** The URL the agent's git uses for a remote: `git://git-gate/<Name>.git`. */
export function gateUrl(name: string): string {
  return `git://${GIT_GATE.alias}/${name}.git`;
}
