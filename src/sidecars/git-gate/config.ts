import { readFile } from "node:fs/promises";
import { z } from "zod";
import { parseSshGitUrl } from "../../lib/git-url.ts";

/**
 * git-gate's config file (JSON, written by the host at launch): the single source of truth for
 * its shape. Errors name key paths, never values.
 */
const absolutePath = z.string().regex(/^\//, "expected an absolute path");

export const gateRemoteSchema = z.strictObject({
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

export class GateConfigError extends Error {
  readonly code = "E_GIT_GATE_CONFIG";
}

/** Parses a config text; throws GateConfigError naming key paths only. */
export function parseGateConfig(text: string, source: string): GateConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new GateConfigError(`git-gate config ${source} is not valid JSON`);
  }
  const parsed = gateConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `  ${issue.path.length ? issue.path.map(String).join(".") : "(root)"}: ${issue.message}`,
    );
    throw new GateConfigError(`invalid git-gate config ${source}:\n${issues.join("\n")}`);
  }
  return parsed.data;
}

export async function loadGateConfig(file: string): Promise<GateConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new GateConfigError(
      `cannot read git-gate config ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return parseGateConfig(text, file);
}

/** The remote served from `<state_dir>/repos/<name>.git`, by the repository's directory name. */
export function remoteForRepo(config: GateConfig, repoDir: string): GateRemote | undefined {
  const base = repoDir.replace(/\/+$/, "").split("/").pop() ?? "";
  return config.remotes.find((remote) => `${remote.name}.git` === base);
}
