import { readFile } from "node:fs/promises";
import { z } from "zod";
import { AUTH_SCHEMES, routeRuleSchema, SERVER_TOOLS } from "../../lib/route-rules.ts";

/**
 * routes.json, as the proxy reads it (rendered on the host by src/plan/cred-proxy-routes.ts). The
 * schema is the single source of truth for its shape; messages name key paths, never values.
 */

const SLOT = /^CRED_PROXY_TOKEN_\d+$/;

export const routeSchema = z.strictObject({
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/, "expected a path prefix such as /github")
    .describe("Path prefix on the proxy that selects the route."),
  upstream: z
    .url({ protocol: /^https$/, error: "expected an https:// URL" })
    .refine((url) => !new URL(url).search && !new URL(url).hash, "no query or fragment")
    .describe("HTTPS URL the prefix maps to; the rest of the request path is appended."),
  auth_scheme: z.enum(AUTH_SCHEMES),
  slot: z.string().regex(SLOT, "expected CRED_PROXY_TOKEN_<n>").describe("Env variable holding the token."),
  roles: z.array(z.string()).default([]),
  /** Methods and paths forwarded; absent: the roles' defaults (lib/route-rules.ts). */
  allow: z.array(routeRuleSchema).optional(),
  /** Anthropic server-side features this route lets a Messages request use. */
  server_tools: z.array(z.enum(SERVER_TOOLS)).optional(),
});

export const routesFileSchema = z.strictObject({
  version: z.literal(1),
  bottle: z.string().optional(),
  supervise: z.boolean().default(false),
  routes: z.array(routeSchema),
  git_remotes: z
    .array(z.strictObject({ name: z.string(), host: z.string(), path: z.string(), gate_url: z.string() }))
    .default([]),
});

export type Route = z.output<typeof routeSchema>;
export type RoutesFile = z.output<typeof routesFileSchema>;

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
    if (!SLOT.test(name) || value === undefined) continue;
    if (value === "" || /[^\t\x20-\x7e\x80-\xff]/.test(value) || value !== value.trim()) {
      throw new Error(`${name} is empty or holds characters a header cannot carry`);
    }
    tokens[name] = value;
  }
  return tokens;
}
