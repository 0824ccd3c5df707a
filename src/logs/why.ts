import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { INSTANCE_ID } from "../backend/instance.ts";
import type { LogSource } from "./events.ts";
import { readLines } from "./lines.ts";
import { logFiles } from "./read.ts";

/** A refused request found by its id in some bottle's log. */
export interface FoundRequest {
  instance: string;
  source: LogSource;
  record: Record<string, unknown>;
}

/** Every audit line (egress-proxy, cred-proxy) of every bottle's logs carrying this request id. */
export async function findRequest(logsRoot: string, id: string): Promise<FoundRequest[]> {
  const found: FoundRequest[] = [];
  const needle = `"id":"${id}"`;
  let instances: string[];
  try {
    instances = readdirSync(logsRoot).filter((name) => INSTANCE_ID.test(name));
  } catch {
    return found;
  }
  for (const instance of instances) {
    for (const { source, file } of logFiles(join(logsRoot, instance))) {
      if (source !== "egress" && source !== "cred-proxy") continue;
      for await (const chunk of readLines(file)) {
        for (const line of chunk.lines) {
          if (!line.includes(needle)) continue;
          try {
            const record = JSON.parse(line) as unknown;
            if (typeof record === "object" && record !== null && (record as { id?: unknown }).id === id)
              found.push({ instance, source, record: record as Record<string, unknown> });
          } catch {
            // not JSON: not a record
          }
        }
      }
    }
  }
  return found;
}

/** What a refusal code needs changed in the bottle manifest, and whether the agent can ask. */
const REMEDY: Readonly<Record<string, { keys: string[]; change: string; tool?: string }>> = {
  "not-allowlisted": {
    keys: ["egress", "allowlist"],
    change: "add `{target}` to egress.allowlist",
    tool: "request_egress",
  },
  ssrf: {
    keys: ["egress", "ip_allowlist"],
    change:
      "add the address's range to egress.ip_allowlist (a private or local address: only for a host you trust)",
  },
  "route-rule": {
    keys: ["cred_proxy", "routes"],
    change: "add `{method, path}` to the `allow` list of route {route}",
    tool: "propose_routes",
  },
  "server-tool": {
    keys: ["cred_proxy", "routes"],
    change: "name the tool in `server_tools` of route {route}",
    tool: "propose_routes",
  },
  "no-route": { keys: ["cred_proxy", "routes"], change: "add a route for the path", tool: "propose_routes" },
  "git-push-https": { keys: ["git"], change: "declare the remote under `git:` and push through git-gate" },
};

export interface BottleInfo {
  bottle?: { name?: string; file?: string };
  supervise?: { enabled?: boolean };
}

/** The plan a bottle started with, as `start` wrote it beside its logs (names only). */
export function bottleInfo(logDir: string): BottleInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(logDir, "bottle.json"), "utf8")) as { plan?: BottleInfo };
    return parsed.plan;
  } catch {
    return undefined;
  }
}

/** `why`'s answer for one found request: lines of text, not yet made visible. */
export function explain(found: FoundRequest, info: BottleInfo | undefined): string[] {
  const { record } = found;
  const text = (key: string) => (typeof record[key] === "string" ? (record[key] as string) : "");
  const code = text("code");
  const target =
    found.source === "egress"
      ? `${text("host")}:${typeof record.port === "number" ? record.port : "?"}`
      : text("path");
  const lines = [
    `request ${text("id")} · bottle ${found.instance} · ${found.source === "egress" ? "egress-proxy" : "cred-proxy"} · ${text("time")}`,
    `${text("decision") === "block" ? "refused" : text("decision") || "?"}: ${text("method")} ${found.source === "egress" ? `${text("scheme")}://${target}${text("path")}` : target}`,
    `code: ${code || "(none)"}`,
    `rule: ${text("rule") || "(none)"}`,
  ];
  if (text("decision") !== "block") return [...lines, "this request was not refused"];
  const remedy = REMEDY[code];
  if (remedy === undefined) {
    lines.push(
      code.startsWith("dlp-")
        ? "no setting allows it: the request carried what looks like a secret (credentials come from cred-proxy)"
        : "no setting allows it: the request itself was malformed or over a limit",
    );
    return lines;
  }
  const change = remedy.change.replace("{target}", target).replace("{route}", text("route") || "(the route)");
  const file = info?.bottle?.file;
  const place = file === undefined ? undefined : manifestLine(file, remedy.keys, text("route"));
  lines.push(
    `to allow it: ${change}${file ? ` in ${file}${place ? `:${place.line}` : ""}` : " in the bottle manifest"}${place && !place.exact ? ` (no ${remedy.keys.join(".")} there yet; add it)` : ""}`,
  );
  lines.push(
    remedy.tool === undefined
      ? "the agent cannot ask for this through supervise"
      : info?.supervise?.enabled
        ? `the agent can ask: supervise tool \`${remedy.tool}\``
        : `with \`supervise: true\` in the bottle, the agent could ask with the supervise tool \`${remedy.tool}\``,
  );
  return lines;
}

/**
 * The line of a manifest's front matter where a nested key is (`egress:` then `allowlist:`
 * indented under it), or a route's `path:` under `cred_proxy.routes`; the deepest key found when
 * the rest is missing (exact false). 1-based.
 */
export function manifestLine(
  file: string,
  keys: readonly string[],
  route?: string,
): { line: number; exact: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  let found: { line: number; exact: boolean } | undefined;
  let indent = -1;
  let from = 0;
  for (const [depth, key] of keys.entries()) {
    const at = lines.findIndex((line, index) => {
      if (index < from) return false;
      const match = /^(\s*)([A-Za-z_]+)\s*:/.exec(line);
      return match !== null && (match[1]?.length ?? 0) > indent && match[2] === key;
    });
    if (at === -1) return found ?? { line: 1, exact: false };
    indent = /^(\s*)/.exec(lines[at] ?? "")?.[1]?.length ?? 0;
    from = at + 1;
    found = { line: at + 1, exact: depth === keys.length - 1 };
  }
  if (route && found?.exact) {
    const escaped = route.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const at = lines.findIndex(
      (line, index) => index >= from && new RegExp(`path:\\s*["']?${escaped}["']?\\s*$`).test(line),
    );
    if (at !== -1) return { line: at + 1, exact: true };
  }
  return found;
}
