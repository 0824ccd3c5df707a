import { z } from "zod";
import { parseSshGitUrl } from "../lib/git-url.ts";

/**
 * The git-gate sidecar's contract with the host: where things live in its container, its config
 * file (written by src/backend/docker/provision/git-gate-files.ts, parsed by
 * src/sidecars/git-gate/config.ts) and the known_hosts lines that pin each upstream's key.
 */

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

/**
 * git-gate's config file (JSON, written by the host at launch): the single source of truth for
 * its shape. Errors name key paths, never values.
 */
const absolutePath = z.string().regex(/^\//, "expected an absolute path");

const gateRemoteSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, `.`, `_` and `-`"),
  /** Upstream as written in the manifest, for messages. */
  upstream: z.string().min(1),
  /** The SSH URL (`ssh://...` or scp-like `user@host:path`) the gate fetches from and pushes to. */
  url: z.string().refine((url) => parseSshGitUrl(url) !== undefined, "expected an SSH git URL"),
  identity_file: absolutePath,
  /** A known_hosts file holding exactly the pinned key, under the alias `host_key_alias`. */
  known_hosts_file: absolutePath,
  host_key_alias: z.string().regex(/^[A-Za-z0-9._-]+$/),
});

export const gateConfigSchema = z.strictObject({
  listen_port: z.number().int().min(1).max(65535).default(9418),
  state_dir: absolutePath,
  remotes: z.array(gateRemoteSchema).min(1),
  scan: z
    .strictObject({
      /** Fingerprints of the bottle's real tokens (cred-proxy slots): found as known-token:<name>. */
      known_tokens: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            sha256: z.string().regex(/^[0-9a-f]{64}$/),
            length: z.number().int().positive(),
          }),
        )
        .default([]),
      /** A touched file larger than this cannot be scanned in bounded time: the push is refused. */
      max_blob_bytes: z
        .number()
        .int()
        .positive()
        .default(32 * 1024 * 1024),
    })
    .prefault({}),
  /** The largest pack one push may send (git's receive.maxInputSize): the bottle's limits.push. */
  max_push_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 ** 3),
  /** The most a mirror may hold (pushed objects included) before pushes to it are refused: limits.mirror. */
  max_mirror_bytes: z
    .number()
    .int()
    .positive()
    .default(8 * 1024 ** 3),
  /** Where each push leaves one JSON line (absent: no audit file, e.g. in unit tests). */
  audit_file: absolutePath.optional(),
  /** Seconds one upstream fetch or push may take before it is killed (and fails closed). */
  upstream_timeout_seconds: z.number().int().positive().default(300),
});

export type GateConfig = z.output<typeof gateConfigSchema>;
export type GateConfigInput = z.input<typeof gateConfigSchema>;
export type GateRemote = z.output<typeof gateRemoteSchema>;

const KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/**
 * The known_hosts line pinning a manifest's KnownHostKey (`type base64 [comment]`, or a whole
 * known_hosts line whose host field is dropped) under `alias`. ssh looks the key up by the alias
 * (HostKeyAlias), so the pin holds whatever name or port the upstream URL uses. Undefined when
 * the value is no public key.
 */
export function knownHostsLine(alias: string, knownHostKey: string): string | undefined {
  const fields = knownHostKey.trim().split(/\s+/);
  const start = fields.findIndex((field) => KEY_TYPES.has(field));
  if (start === -1 || start > 1) return undefined;
  const type = fields[start]!;
  const key = fields[start + 1];
  if (key === undefined || !/^[A-Za-z0-9+/]+={0,3}$/.test(key)) return undefined;
  return `${alias} ${type} ${key}\n`;
}
