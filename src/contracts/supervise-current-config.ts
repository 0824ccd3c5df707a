import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RoutesFile } from "./cred-proxy.ts";
import { CURRENT_CONFIG_FILES } from "./supervise.ts";
import { writeAtomic } from "./supervise-queue.ts";

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

/** routes.json (contracts/cred-proxy.ts): its routes, and the other fields as cred-proxy has them. */
type RoutesDocument = Pick<RoutesFile, "routes"> & Partial<Omit<RoutesFile, "routes">>;

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
