import { type ChildProcess, spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { GateConfig } from "../../contracts/git-gate.ts";

import { CONFIG_ENV } from "./hooks.ts";
import { hooksDir, prepareMirror, refreshMirror, reposDir, writeHooks } from "./mirror.ts";

export interface ServeOptions {
  configFile: string;
  /** The command that re-enters this program (node and its script), for the hook scripts. */
  self: readonly string[];
  log?: (line: string) => void;
  /** Listen address; default every interface (the container's only one is the internal net). */
  listen?: string;
}

export interface RunningGate extends AsyncDisposable {
  readonly daemon: ChildProcess;
  /** Resolves with the daemon's exit code when it ends. */
  readonly exited: Promise<number>;
}

/** git daemon's argv: the declared mirrors only, fetch and push, the access hook first. */
function daemonArgs(config: GateConfig, listen: string | undefined): string[] {
  return [
    "daemon",
    "--reuseaddr",
    ...(listen ? [`--listen=${listen}`] : []),
    `--port=${config.listen_port}`,
    `--base-path=${reposDir(config)}`,
    "--strict-paths",
    "--export-all",
    "--enable=receive-pack",
    `--access-hook=${join(hooksDir(config), "access")}`,
    "--informative-errors",
    "--max-connections=64",
    "--init-timeout=30",
    "--log-destination=stderr",
    ...config.remotes.map((remote) => join(reposDir(config), `${remote.name}.git`)),
  ];
}

/** Prepares every mirror, starts git daemon, and refreshes the mirrors once in the background. */
export async function serveGate(config: GateConfig, options: ServeOptions): Promise<RunningGate> {
  const log = options.log ?? ((line: string) => process.stderr.write(`git-gate: ${line}\n`));
  await mkdir(reposDir(config), { recursive: true });
  await writeHooks(config, options.self);
  for (const remote of config.remotes) await prepareMirror(config, remote);
  const daemon = spawn("git", daemonArgs(config, options.listen), {
    env: { ...process.env, [CONFIG_ENV]: options.configFile, GIT_TERMINAL_PROMPT: "0" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise<number>((resolve) => daemon.on("exit", (code) => resolve(code ?? 1)));
  log(`serving ${config.remotes.map((remote) => remote.name).join(", ")} on port ${config.listen_port}`);
  // A first refresh, so a failure shows in `docker logs` at once; fetches refresh again anyway.
  for (const remote of config.remotes) {
    void refreshMirror(config, remote).then(
      (result) => log(result.ok ? `${remote.name}: mirror refreshed from upstream` : result.message),
      (error: unknown) => log(`${remote.name}: refresh failed: ${String(error)}`),
    );
  }
  return {
    daemon,
    exited,
    async [Symbol.asyncDispose]() {
      if (daemon.exitCode === null && daemon.signalCode === null) {
        daemon.kill("SIGTERM");
        await exited;
      }
    },
  };
}
