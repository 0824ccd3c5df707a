import { chmod, lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GateConfig, GateRemote } from "../../contracts/git-gate.ts";

import { git, gitOk } from "./git.ts";
import { acquireLock } from "./lock.ts";
import { describeUpstreamFailure, sshCommand } from "./ssh.ts";

/** What the mirror holds of upstream: branches and tags (not e.g. GitHub's refs/pull/*). */
const MIRROR_REFSPECS = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"] as const;

export const reposDir = (config: Pick<GateConfig, "state_dir">): string => join(config.state_dir, "repos");
export const hooksDir = (config: Pick<GateConfig, "state_dir">): string => join(config.state_dir, "hooks");
const repoPath = (config: Pick<GateConfig, "state_dir">, name: string): string =>
  join(reposDir(config), `${name}.git`);

/** `#!/bin/sh` that re-enters this program: `<command...> git-gate hook <kind> "$@"`. */
function hookScript(command: readonly string[], kind: string): string {
  const quoted = [...command, "git-gate", "hook", kind].map((part) => `'${part.replaceAll("'", `'\\''`)}'`);
  return `#!/bin/sh\nexec ${quoted.join(" ")} "$@"\n`;
}

/** Writes the hook scripts (access hook of git daemon, pre-receive of every mirror). */
export async function writeHooks(config: GateConfig, command: readonly string[]): Promise<void> {
  const dir = hooksDir(config);
  await mkdir(dir, { recursive: true });
  for (const kind of ["access", "pre-receive"]) {
    await writeFile(join(dir, kind), hookScript(command, kind));
    await chmod(join(dir, kind), 0o755);
  }
}

/** Creates (or re-configures) the bare mirror of a remote; contacts no one. */
export async function prepareMirror(config: GateConfig, remote: GateRemote): Promise<string> {
  const repo = repoPath(config, remote.name);
  await mkdir(repo, { recursive: true });
  await gitOk(["init", "--quiet", "--bare"], { cwd: repo });
  const settings: [string, string][] = [
    ["core.sshCommand", sshCommand(remote)],
    ["core.hooksPath", hooksDir(config)],
    // Pushed objects are checked before any hook sees them.
    ["receive.fsckObjects", "true"],
    // A bigger pack is refused while it arrives ("pack exceeds maximum allowed size").
    ["receive.maxInputSize", String(config.max_push_bytes)],
    // Forced updates and deletions are upstream's call, not the gate's (the lease keeps them honest).
    ["receive.denyNonFastForwards", "false"],
    ["receive.denyDeletes", "false"],
    ["receive.denyDeleteCurrent", "false"],
    ["gc.auto", "0"],
  ];
  for (const [key, value] of settings) await gitOk(["config", key, value], { cwd: repo });
  return repo;
}

export type RefreshResult = { ok: true; skipped: boolean } | { ok: false; message: string };

const STAMP = "gate-refreshed";

/**
 * Brings the mirror up to date with upstream (branches and tags, pruned). Concurrent refreshes
 * of one mirror run one at a time; a caller who waited for another refresh that started after
 * it asked takes that result instead of fetching again. Never throws for upstream failures: the
 * result carries a one-line message saying what failed and what to do.
 */
export async function refreshMirror(config: GateConfig, remote: GateRemote): Promise<RefreshResult> {
  const repo = repoPath(config, remote.name);
  const askedAt = Date.now();
  const release = await acquireLock(join(repo, "gate-refresh.lock"), config.upstream_timeout_seconds * 1000);
  try {
    const last = Number(await readFile(join(repo, STAMP), "utf8").catch(() => "0"));
    if (last >= askedAt) return { ok: true, skipped: true };
    const startedAt = Date.now();
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
    const fetched = await git(
      ["fetch", "--quiet", "--prune", "--no-write-fetch-head", remote.url, ...MIRROR_REFSPECS],
      { cwd: repo, env, timeoutMs: config.upstream_timeout_seconds * 1000 },
    );
    if (fetched.code !== 0) {
      return {
        ok: false,
        message: describeUpstreamFailure("refresh", remote, fetched.stderr, fetched.timedOut),
      };
    }
    await followUpstreamHead(repo, remote, env, config.upstream_timeout_seconds * 1000);
    await writeFile(join(repo, STAMP), String(startedAt));
    return { ok: true, skipped: false };
  } finally {
    release();
  }
}

/**
 * Points the mirror's HEAD at upstream's default branch, so a clone checks it out. Asked only
 * when HEAD names a branch the mirror lacks (a second connection, so not on every refresh).
 */
async function followUpstreamHead(
  repo: string,
  remote: GateRemote,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<void> {
  const head = (await git(["symbolic-ref", "HEAD"], { cwd: repo })).stdout.toString("utf8").trim();
  if (head && (await git(["rev-parse", "--verify", "--quiet", head], { cwd: repo })).code === 0) return;
  const listed = await git(["ls-remote", "--symref", remote.url, "HEAD"], { cwd: repo, env, timeoutMs });
  const target = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(listed.stdout.toString("utf8"))?.[1];
  if (target) await git(["symbolic-ref", "HEAD", target], { cwd: repo });
}

/**
 * Bytes a mirror holds on disk by apparent size, a push's quarantined objects included (git
 * keeps them under objects/ until pre-receive accepts). Symlinks count as themselves.
 */
export async function mirrorBytes(repo: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(repo, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) continue;
    total += (await lstat(join(entry.parentPath, entry.name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
