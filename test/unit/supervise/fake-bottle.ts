import { stringify } from "yaml";
import type {
  ContainerInfo,
  DockerEngine,
  ExecResult,
  InMemoryFile,
} from "../../../src/backend/docker/engine/engine.ts";
import { CRED_PROXY } from "../../../src/contracts/cred-proxy.ts";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";

import type { RenderedRouteEntry } from "../../../src/contracts/supervise.ts";

export const SHA = "a".repeat(64);
export const api: RenderedRouteEntry = {
  path: "/api",
  upstream: "https://api.example.com",
  auth_scheme: "Bearer",
  slot: "CRED_PROXY_TOKEN_0",
  roles: ["anthropic-base-url"],
};
export const other: RenderedRouteEntry = {
  path: "/other-api",
  upstream: "https://other.example.com:8443/v2",
  auth_scheme: "token",
  slot: "CRED_PROXY_TOKEN_0",
  roles: [],
};
export const routesFile = {
  version: 1 as const,
  bottle: "b",
  supervise: true,
  routes: [api],
  git_remotes: [],
};
export const egressConfig = {
  listen: "0.0.0.0:8888",
  allowlist: ["api.example.com"],
  dlp: {
    extra_patterns: [],
    known_tokens: [{ name: "CRED_PROXY_TOKEN_0", sha256: SHA, length: 40, host: "api.example.com" }],
  },
};

/**
 * Two sidecars in memory: each has one config file and a reload generation that SIGHUP raises
 * when `accepts` likes the file. cred-proxy can be told to refuse every reload.
 */
export function fakeBottle(options: { credProxyAccepts: boolean; credProxyHealth?: boolean }) {
  const files = new Map<string, string>([
    [`cb-x-cred-proxy:${CRED_PROXY.routesFile}`, JSON.stringify(routesFile)],
    [`cb-x-egress-proxy:${EGRESS.configFile}`, stringify(egressConfig)],
  ]);
  const generation = new Map([
    ["cb-x-cred-proxy", 1],
    ["cb-x-egress-proxy", 1],
  ]);
  const signals: string[] = [];
  const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: "" });
  const engine: Pick<
    DockerEngine,
    "containerInspect" | "containerExec" | "containerCopyIn" | "containerKill" | "containerList"
  > = {
    containerList: async () => [
      {
        running: true,
        labels: { "claude-bottle.instance": "x", "claude-bottle.role": "supervise" },
      } as unknown as ContainerInfo,
    ],
    containerInspect: async () =>
      ({ running: true }) as Awaited<ReturnType<DockerEngine["containerInspect"]>>,
    containerExec: async (container, command) => {
      if (command[0] === "cat") return ok(files.get(`${container}:${command[1]}`) ?? "");
      if (container.endsWith("cred-proxy") && options.credProxyHealth === false)
        return { exitCode: 1, stdout: "", stderr: "connection refused" };
      return ok(String(generation.get(container)));
    },
    containerCopyIn: async (container, dir, copied: readonly InMemoryFile[]) => {
      for (const file of copied) files.set(`${container}:${dir}/${file.path}`, String(file.content));
    },
    containerKill: async (container) => {
      signals.push(container);
      if (container.endsWith("cred-proxy") && !options.credProxyAccepts) return;
      generation.set(container, (generation.get(container) ?? 0) + 1);
    },
  };
  return { engine: engine as DockerEngine, files, signals };
}
