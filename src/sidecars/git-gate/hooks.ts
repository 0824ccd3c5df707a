import { text } from "node:stream/consumers";
import type { GateConfig } from "../../contracts/git-gate.ts";
import { errorMessage } from "../../lib/user-error.ts";
import { appendPushAudit, type PushAuditRecord, pushAuditRecord } from "./audit.ts";
import { loadGateConfig, remoteForRepo } from "./config.ts";
import { forwardPush } from "./forward.ts";
import { renderMirrorFull, renderSecretRejection, renderWarnings } from "./messages.ts";
import { mirrorBytes, refreshMirror } from "./mirror.ts";
import { parseRefUpdates } from "./push-updates.ts";
import { type PushScan, scanPush } from "./scan-push.ts";

/** The environment variable through which git daemon hands the config path to the hooks. */
export const CONFIG_ENV = "CLAUDE_BOTTLE_GIT_GATE_CONFIG";

export interface HookOutcome {
  /** 0 lets git proceed; anything else declines the service or rejects the push. */
  exitCode: number;
  /** For the access hook: one line git daemon sends the client when declining. */
  stdout?: string;
  /** For pre-receive: what the pushing client shows as `remote:` lines. */
  stderr?: string;
}

/**
 * git daemon's access hook: `<service> <path> <host> <canonical host> <ip> <port>`. Before any
 * fetch or push is served, the mirror is refreshed from upstream; when that fails, the service
 * is declined with one line saying why (fail closed: the agent never reads a stale view).
 */
export async function accessHook(config: GateConfig, argv: readonly string[]): Promise<HookOutcome> {
  const [service, path] = argv;
  if (service === undefined || path === undefined)
    return { exitCode: 1, stdout: "git-gate: bad access-hook call\n" };
  const remote = remoteForRepo(config, path);
  if (remote === undefined) return { exitCode: 1, stdout: "git-gate: no such repository\n" };
  if (service !== "upload-pack" && service !== "receive-pack") {
    return { exitCode: 1, stdout: `git-gate: service ${service} is not offered\n` };
  }
  const refreshed = await refreshMirror(config, remote);
  if (!refreshed.ok) return { exitCode: 1, stdout: `${refreshed.message.replaceAll("\n", " ")}\n` };
  return { exitCode: 0 };
}

/**
 * pre-receive of a mirror: scan, then forward. Nothing reaches upstream unless every new commit
 * is clean; the push lands in the gate only when upstream accepted every ref.
 */
export async function preReceiveHook(
  config: GateConfig,
  repo: string,
  stdin: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HookOutcome> {
  const remote = remoteForRepo(config, repo);
  if (remote === undefined) return { exitCode: 1, stderr: `git-gate: ${repo} is not a gate repository\n` };
  const updates = parseRefUpdates(stdin);
  if (updates.length === 0) return { exitCode: 0 };
  const audit = (scanned: PushScan | undefined, outcome: PushAuditRecord["outcome"], error?: string) =>
    appendPushAudit(config.audit_file, pushAuditRecord(remote.name, updates, scanned, outcome, error));
  // Each forwarded push grows the mirror by what it sent (at most limits.push); this bounds the sum.
  const held = await mirrorBytes(repo);
  if (held > config.max_mirror_bytes) {
    audit(undefined, "rejected-mirror-full");
    return { exitCode: 1, stderr: renderMirrorFull(remote.name, held, config.max_mirror_bytes) };
  }
  const started = performance.now();
  const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(2);
  let scanned: PushScan;
  try {
    scanned = await scanPush(repo, updates, {
      knownTokens: config.scan.known_tokens,
      maxBlobBytes: config.scan.max_blob_bytes,
      env,
    });
  } catch (error) {
    audit(undefined, "error", errorMessage(error));
    throw error;
  }
  const warnings = renderWarnings(scanned.warnings);
  if (scanned.findings.length || scanned.oversized.length) {
    audit(scanned, "rejected-secrets");
    return {
      exitCode: 1,
      stderr: warnings + renderSecretRejection(remote.name, scanned.findings, scanned.oversized),
    };
  }
  const scanSeconds = seconds(started);
  const forwardStarted = performance.now();
  const forwarded = await forwardPush(repo, remote, updates, {
    env,
    timeoutMs: config.upstream_timeout_seconds * 1000,
  });
  if (!forwarded.ok) {
    audit(scanned, "rejected-upstream");
    return { exitCode: 1, stderr: warnings + forwarded.message };
  }
  audit(scanned, "forwarded");
  return {
    exitCode: 0,
    stderr: `${warnings}git-gate: scanned ${scanned.commits} commit${scanned.commits === 1 ? "" : "s"} (${scanned.objects} new object${scanned.objects === 1 ? "" : "s"}), no ${warnings ? "new " : ""}secrets; forwarded ${updates.length} ref${updates.length === 1 ? "" : "s"} to ${remote.upstream} (scan ${scanSeconds} s, forward ${seconds(forwardStarted)} s)\n`,
  };
}

/** `git-gate hook <access|pre-receive> ...`, as the hook scripts call it. Errors reject (fail closed). */
export async function runHook(kind: string | undefined, argv: readonly string[]): Promise<number> {
  let outcome: HookOutcome;
  try {
    const file = process.env[CONFIG_ENV];
    if (!file) throw new Error(`${CONFIG_ENV} is not set`);
    const config = await loadGateConfig(file);
    if (kind === "access") outcome = await accessHook(config, argv);
    else if (kind === "pre-receive")
      outcome = await preReceiveHook(config, process.cwd(), await text(process.stdin));
    else outcome = { exitCode: 2, stderr: `git-gate: unknown hook ${kind ?? "(none)"}\n` };
  } catch (error) {
    const message = `git-gate: internal error, refusing: ${errorMessage(error)}`;
    outcome = { exitCode: 1, stdout: `${message.replaceAll("\n", " ")}\n`, stderr: `${message}\n` };
    if (kind === "access") delete outcome.stderr;
  }
  if (outcome.stdout) process.stdout.write(outcome.stdout);
  if (outcome.stderr) process.stderr.write(outcome.stderr);
  return outcome.exitCode;
}
