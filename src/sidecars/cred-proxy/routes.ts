import { readFile } from "node:fs/promises";
import { type Route, type RoutesFile, routesFileSchema, TOKEN_SLOT } from "../../contracts/cred-proxy.ts";

/** A route ready to serve: its parsed upstream and its token. */
export interface ActiveRoute extends Route {
  readonly target: URL;
  readonly token: string;
}

export interface RouteTable {
  readonly file: RoutesFile;
  /** Longest prefix first. */
  readonly routes: readonly ActiveRoute[];
}

export type LoadRoutesResult =
  | { status: "ok"; table: RouteTable }
  | { status: "missing"; path: string }
  | { status: "invalid"; path: string; issues: readonly string[] };

/**
 * Builds a table from the file's text and the tokens this container was created with. A route
 * whose slot has no token is an error: tokens arrive only at create time, so a reload cannot add
 * one. Never throws for bad input.
 */
export function parseRoutes(
  text: string,
  tokens: Readonly<Record<string, string>>,
  path = "routes.json",
): LoadRoutesResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { status: "invalid", path, issues: ["(file): not valid JSON"] };
  }
  const parsed = routesFileSchema.safeParse(json);
  if (!parsed.success) {
    return {
      status: "invalid",
      path,
      issues: parsed.error.issues.map(
        (issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`,
      ),
    };
  }
  const issues: string[] = [];
  const seen = new Set<string>();
  const routes: ActiveRoute[] = [];
  for (const [index, route] of parsed.data.routes.entries()) {
    if (seen.has(route.path)) issues.push(`routes.${index}.path: duplicate route path`);
    seen.add(route.path);
    const token = tokens[route.slot];
    if (token === undefined) {
      issues.push(
        `routes.${index}.slot: ${route.slot} was not given to this container at create time (restart the bottle to add a token)`,
      );
      continue;
    }
    routes.push({ ...route, target: new URL(route.upstream.replace(/\/+$/, "")), token });
  }
  if (issues.length) return { status: "invalid", path, issues };
  routes.sort((a, b) => b.path.length - a.path.length);
  return { status: "ok", table: { file: parsed.data, routes } };
}

export async function loadRoutes(
  path: string,
  tokens: Readonly<Record<string, string>>,
): Promise<LoadRoutesResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing", path };
    return { status: "invalid", path, issues: ["(file): cannot be read"] };
  }
  return parseRoutes(text, tokens, path);
}

export function describeLoadFailure(result: Exclude<LoadRoutesResult, { status: "ok" }>): string {
  if (result.status === "missing") return `routes file not found: ${result.path}`;
  return [`invalid routes file ${result.path}:`, ...result.issues.map((issue) => `  ${issue}`)].join("\n");
}

/**
 * The route whose prefix owns the path: equal to it, or followed by `/` or `?`. `/git` does not
 * own `/github`.
 */
export function matchRoute(routes: readonly ActiveRoute[], path: string): ActiveRoute | undefined {
  return routes.find((route) => {
    if (!path.startsWith(route.path)) return false;
    const next = path[route.path.length];
    return next === undefined || next === "/" || next === "?";
  });
}

/**
 * Token slots from the environment (CRED_PROXY_TOKEN_<n>). A value that could not travel in a
 * header is refused at start, by slot name only.
 */
export function tokensFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const tokens: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!TOKEN_SLOT.test(name) || value === undefined) continue;
    if (value === "" || /[^\t\x20-\x7e\x80-\xff]/.test(value) || value !== value.trim()) {
      throw new Error(`${name} is empty or holds characters a header cannot carry`);
    }
    tokens[name] = value;
  }
  return tokens;
}
