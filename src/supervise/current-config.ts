import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DockerEngine } from "../backend/docker/engine.ts";
import { CURRENT_CONFIG_FILES, type RenderedRouteEntry, SUPERVISE } from "./protocol.ts";
import { writeAtomic } from "./queue.ts";

/**
 * The current-config dir: what the bottle's policy is right now, for the agent to read (copied
 * into it, root-owned, at /etc/claude-bottle/current-config) before it proposes a change. The host
 * writes it at launch and after every applied change; each file is replaced atomically.
 */
export interface CurrentConfig {
  allowlist: string[];
  /** routes.json as cred-proxy reads it (slots, never token values or host variable names). */
  routes?: RoutesDocument | undefined;
  dockerfile?: string | undefined;
}

/** routes.json; fields besides `routes` (version, bottle, git_remotes) are kept as they are. */
export interface RoutesDocument {
  routes: RenderedRouteEntry[];
}

/** The files of a (partial) current config, rendered. */
export function currentConfigFiles(config: Partial<CurrentConfig>): { name: string; content: string }[] {
  return [
    ...(config.allowlist === undefined
      ? []
      : [{ name: CURRENT_CONFIG_FILES.allowlist, content: renderAllowlist(config.allowlist) }]),
    ...(config.routes === undefined
      ? []
      : [{ name: CURRENT_CONFIG_FILES.routes, content: `${JSON.stringify(config.routes, null, 2)}\n` }]),
    ...(config.dockerfile === undefined
      ? []
      : [{ name: CURRENT_CONFIG_FILES.dockerfile, content: config.dockerfile }]),
  ];
}

export function writeCurrentConfig(dir: string, config: Partial<CurrentConfig>): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const file of currentConfigFiles(config)) writeAtomic(join(dir, file.name), file.content, 0o644);
}

export function readCurrentConfig(dir: string): CurrentConfig {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), "utf8");
    } catch {
      return undefined;
    }
  };
  const routesText = read(CURRENT_CONFIG_FILES.routes);
  let routes: RoutesDocument | undefined;
  try {
    routes = routesText === undefined ? undefined : (JSON.parse(routesText) as RoutesDocument);
  } catch {
    routes = undefined;
  }
  return {
    allowlist: parseAllowlist(read(CURRENT_CONFIG_FILES.allowlist) ?? ""),
    routes,
    dockerfile: read(CURRENT_CONFIG_FILES.dockerfile),
  };
}

/** One entry a line, `#` comments: easy to read with `cat` and to diff. */
export function renderAllowlist(entries: readonly string[]): string {
  return `# egress allowlist of this bottle (host, *.domain, optional :port); read-only\n${entries.map((entry) => `${entry}\n`).join("")}`;
}

export function parseAllowlist(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}

/** Copies the host's current-config dir into the agent (see copyToAgent). */
export async function syncAgentCurrentConfig(
  engine: DockerEngine,
  agent: string,
  dir: string,
): Promise<void> {
  const files = Object.values(CURRENT_CONFIG_FILES).flatMap((name) => {
    try {
      return [{ name, content: readFileSync(join(dir, name), "utf8") }];
    } catch {
      return [];
    }
  });
  await copyToAgent(engine, agent, files);
}

/**
 * Puts current-config files into the agent container at SUPERVISE.currentConfigMount, owned by
 * root (0644): the agent (uid 1000, no capabilities) can read them and cannot change them. A
 * copy, not a bind mount, so the agent container needs no host dir when it is created.
 */
export async function copyToAgent(
  engine: DockerEngine,
  agent: string,
  files: readonly { name: string; content: string }[],
): Promise<void> {
  await engine.containerCopyIn(
    agent,
    "/",
    files.map(({ name, content }) => ({
      path: `${SUPERVISE.currentConfigMount.slice(1)}/${name}`,
      content,
      mode: 0o644,
      uid: 0,
      gid: 0,
    })),
  );
}
