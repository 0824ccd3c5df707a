/**
 * Which kernel boundary the agent gets (G7). With gVisor (`runsc`) the agent's system calls are
 * served by a user-space kernel in the sandbox, so a kernel exploit from the agent meets gVisor
 * before the host's kernel; with runc the agent talks to the host kernel directly, fenced only by
 * namespaces, cgroups, dropped capabilities and seccomp. docs/isolation.md explains what each
 * shares with the host.
 *
 * The choice comes from the bottle's `isolation` setting and the engine: `gvisor` requires gVisor,
 * `runc` asks for runc, `auto` (the default) takes gVisor when the engine registers it. A
 * registered runtime is tried once with a tiny container and the success cached per engine and
 * registration; a registered runtime that cannot start a container is refused in one line,
 * never silently replaced by runc.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { UserError } from "../../lib/user-error.ts";
import type { IsolationSetting } from "../../manifest/schema.ts";
import type { DockerEngine, EngineInfo } from "./engine/engine.ts";
import { isEngineError } from "./engine/error.ts";

/** The runtime name gVisor is registered under (scripts/docker-up.sh, gVisor's own docs). */
export const GVISOR_RUNTIME = "runsc";

export interface Isolation {
  kind: "gvisor" | "runc";
  /** The `--runtime` to pass; absent for the engine's default (runc). */
  runtime?: string;
  /** One line for the launch log: what the agent runs on and why. */
  note: string;
}

const GVISOR: Isolation = {
  kind: "gvisor",
  runtime: GVISOR_RUNTIME,
  note: "gVisor (runtime runsc): the agent's system calls meet a user-space kernel, not the host's",
};

/** How docker-up.sh registers gVisor (docs/isolation.md says why each argument). */
const REGISTRATION = `"runtimeArgs": ["--network=host", "--overlay2=none", "--file-access=shared"] in /etc/docker/daemon.json and reload dockerd (scripts/docker-up.sh does both)`;

/** What the setting and the engine decide before anything runs. Pure. */
export function planIsolation(
  setting: IsolationSetting,
  info: Pick<EngineInfo, "runtimes">,
): Isolation | "probe" {
  if (setting === "runc") return { kind: "runc", note: "runc (the bottle sets `isolation: runc`)" };
  if (info.runtimes.includes(GVISOR_RUNTIME)) return "probe";
  if (setting === "gvisor") {
    throw new UserError(
      "the bottle requires `isolation: gvisor`, but this Docker engine has no `runsc` runtime; install gVisor and register it as `runsc` (on Debian, scripts/docker-up.sh as root does both), or set `isolation: auto` to run on runc where gVisor is missing",
      { code: "E_ISOLATION", exitCode: 1 },
    );
  }
  return {
    kind: "runc",
    note: "runc: this engine has no gVisor (`runsc`) runtime; scripts/docker-up.sh installs it, `isolation: gvisor` in the bottle requires it",
  };
}

/** Why a registered gVisor cannot run the agent; `fix` when the reason does not say it already. */
export interface ProbeFailure {
  reason: string;
  fix?: string;
}

/** The one line that says why a registered gVisor cannot start a container, and the fix. */
export function brokenGvisor(failure: ProbeFailure): UserError {
  return new UserError(
    `gVisor (runtime runsc) is registered but cannot start a container: ${failure.reason}; ${failure.fix === undefined ? "" : `${failure.fix}, or `}set \`isolation: runc\` in the bottle to run without gVisor`,
    { code: "E_ISOLATION", exitCode: 1 },
  );
}

/** The engine's refusal to run the probe, with the registration fix when it is about the network. */
export function engineFailure(stderr: string): ProbeFailure {
  const reason = runtimeFailureDetail(stderr);
  return {
    reason,
    fix: /network/i.test(reason)
      ? `register it with ${REGISTRATION}`
      : "check `runsc --version` and dockerd's log on the engine's host",
  };
}

/** The engine's complaint in one line: "OCI runtime start failed: …: cannot run …" → "cannot run …". */
export function runtimeFailureDetail(stderr: string): string {
  const line =
    stderr
      .split("\n")
      .map((text) => text.trim())
      .find((text) => /Error response from daemon|OCI runtime/i.test(text)) ?? stderr.trim().split("\n")[0];
  const detail = (line ?? "")
    .replace(/^.*?Error response from daemon:\s*/i, "")
    .replace(/:\s*unknown\.?$/i, "")
    .split(": ")
    .at(-1);
  const text = (detail ?? "").replace(/\s+/g, " ").trim() || "no reason given";
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** Starts a throwaway container on `runtime`; resolves `undefined` when it ran, else why not. */
async function probeRuntime(
  engine: DockerEngine,
  image: string,
  runtime: string,
): Promise<ProbeFailure | undefined> {
  const name = `claude-bottle-probe-${runtime}-${process.pid}-${Date.now().toString(36)}`;
  try {
    await engine.containerCreate({
      name,
      image,
      runtime,
      network: "none",
      user: "1000:1000",
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      entrypoint: "sleep",
      command: ["60"],
    });
    await engine.containerStart(name);
    // `ls` stats a file: Debian bookworm's runsc (2022-12) answers coreutils' statx with EINVAL,
    // so `ls` and `stat` fail on every path in the agent.
    const listed = await engine.containerExec(name, ["ls", "-ld", "/", "/opt"], { timeoutMs: 30_000 });
    if (listed.exitCode !== 0) {
      const said = (listed.stderr.trim().split("\n")[0] ?? "").slice(0, 120);
      return {
        reason: `a test container cannot list / (${said || `exit ${listed.exitCode}`}), so the agent's tools would fail; install gVisor 2024 or later (Debian: bookworm-backports or trixie)`,
      };
    }
    // The launch copies the prompt, skills and configs in after start: a sandbox that caches the
    // directory it has seen (gVisor's default root overlay) would never show them.
    await engine.containerCopyIn(name, "/", [{ path: "opt/claude-bottle-probe/seen", content: "copied\n" }]);
    const seen = await engine.containerExec(name, ["cat", "/opt/claude-bottle-probe/seen"], {
      timeoutMs: 30_000,
    });
    if (seen.stdout !== "copied\n") {
      return {
        reason: `a file copied into a running test container does not appear in it, so the bottle's prompt, skills and configs would be missing; register it with ${REGISTRATION}`,
      };
    }
    return undefined;
  } catch (error) {
    if (isEngineError(error)) return engineFailure(error.stderr || error.message);
    throw error;
  } finally {
    await engine.containerRemove(name);
  }
}

/** What a cached success is valid for: this engine, this registration of the runtime. */
export function probeKey(
  info: Pick<EngineInfo, "id" | "serverVersion" | "runtimeConfigs">,
  runtime: string,
): string {
  return createHash("sha256")
    .update(JSON.stringify([info.id, info.serverVersion, runtime, info.runtimeConfigs[runtime] ?? ""]))
    .digest("hex")
    .slice(0, 32);
}

function readCache(file: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export interface ResolveIsolationInput {
  engine: DockerEngine;
  info: EngineInfo;
  setting: IsolationSetting;
  /** An image the probe may run (the agent's). */
  image: string;
  /** `<home>/cache/isolation.json`: probe successes by engine and registration. */
  cacheFile: string;
}

/** The isolation the agent gets, probing a registered gVisor once per engine and registration. */
export async function resolveIsolation(input: ResolveIsolationInput): Promise<Isolation> {
  const planned = planIsolation(input.setting, input.info);
  if (planned !== "probe") return planned;
  const key = probeKey(input.info, GVISOR_RUNTIME);
  const cache = readCache(input.cacheFile);
  if (cache[key] !== undefined) return GVISOR;
  const failure = await probeRuntime(input.engine, input.image, GVISOR_RUNTIME);
  if (failure !== undefined) throw brokenGvisor(failure);
  mkdirSync(dirname(input.cacheFile), { recursive: true, mode: 0o700 });
  const next = `${input.cacheFile}.${process.pid}.tmp`;
  writeFileSync(next, `${JSON.stringify({ ...cache, [key]: new Date().toISOString() }, null, 2)}\n`, {
    mode: 0o600,
  });
  renameSync(next, input.cacheFile);
  return GVISOR;
}

/** How `status` names a container's runtime. */
export function describeRuntime(runtime: string | undefined): string {
  if (runtime === GVISOR_RUNTIME) return "gvisor";
  return runtime === undefined || runtime === "" ? "runc" : runtime;
}
