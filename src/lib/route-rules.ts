/**
 * What a cred-proxy route lets the agent do with its credential: methods and paths, and for the
 * Anthropic route which server-side tools. A route's `allow` list, when declared, is complete;
 * without one the route's roles give a safe default: reads, plus the one write each role needs
 * (a model request; a git fetch). TRACE, TRACK and CONNECT are never forwarded. Shared by the
 * manifest, routes.json, supervise and the proxy, so all four read rules the same way. Pure.
 */
import { z } from "zod";

/**
 * How a route sends its token: `Authorization: Bearer`, `Authorization: token`, `x-api-key`, or
 * `anthropic`: whichever of the two the Anthropic API expects for the token's form (an API or
 * admin key in `x-api-key`, an OAuth token as Bearer).
 */
export const AUTH_SCHEMES = ["Bearer", "token", "x-api-key", "anthropic"] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

const ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"] as const;
/** Methods a route never forwards, whatever it allows: they echo credentials or open tunnels. */
const NEVER_FORWARDED: ReadonlySet<string> = new Set(["TRACE", "TRACK", "CONNECT"]);

export const routeRuleSchema = z
  .strictObject({
    method: z.enum(ROUTE_METHODS).describe("An HTTP method, or `*` for any (TRACE, TRACK, CONNECT never)."),
    path: z
      .string()
      .regex(
        /^\/[A-Za-z0-9._~*/@:+$,=!'()-]*$/,
        "expected a path after the route prefix such as `/repos/*/issues` (`*` one segment, `**` any)",
      )
      .describe("Path after the route prefix: `*` matches within one segment, `**` across segments."),
  })
  .describe("One method and path the route forwards.");

export type RouteRule = z.output<typeof routeRuleSchema>;

/**
 * Anthropic server-side features that make Anthropic's servers contact a third party on the
 * agent's behalf (past the bottle's allowlist and DLP): refused unless a route names them.
 */
export const SERVER_TOOLS = [
  "web_search",
  "web_fetch",
  "code_execution",
  "mcp_servers",
  "url_sources",
] as const;
export type ServerTool = (typeof SERVER_TOOLS)[number];

const READS: RouteRule[] = [
  { method: "GET", path: "/**" },
  { method: "HEAD", path: "/**" },
];

/** The rules of a route that declares no `allow`: reads, plus what each of its roles needs. */
export function roleDefaults(roles: readonly string[]): RouteRule[] {
  const rules = [...READS];
  if (roles.includes("anthropic-base-url"))
    rules.push(
      { method: "POST", path: "/v1/messages" },
      { method: "POST", path: "/v1/messages/count_tokens" },
    );
  if (roles.includes("git-insteadof") || roles.includes("tea-login"))
    rules.push({ method: "POST", path: "/**/git-upload-pack" });
  return rules;
}

export function effectiveRules(route: {
  roles: readonly string[];
  allow?: readonly RouteRule[] | undefined;
}) {
  return route.allow ?? roleDefaults(route.roles);
}

function globToRegExp(glob: string): RegExp {
  let pattern = "";
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index]!;
    if (char === "*" && glob[index + 1] === "*") {
      pattern += ".*";
      index++;
    } else if (char === "*") pattern += "[^/]*";
    else pattern += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  // `/**/x` also matches `/x`: the segments `**` stands for may be none.
  return new RegExp(`^${pattern.replaceAll("/.*/", "(?:/.*)?/")}$`);
}

export function ruleAllows(rules: readonly RouteRule[], method: string, path: string): boolean {
  if (NEVER_FORWARDED.has(method)) return false;
  return rules.some(
    (rule) => (rule.method === "*" || rule.method === method) && globToRegExp(rule.path).test(path),
  );
}

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

/**
 * The path a rule is matched against: percent-decoded, `;parameters` of every segment removed,
 * repeated slashes folded, so `/git-receive-pack;x`, `%2Fgit%2Dreceive-pack` and `//x` decide like
 * what an upstream would serve. A fragment (`#`) never belongs in a request: refused.
 */
export function normalizeRequestPath(rawPath: string): NormalizedPath {
  if (rawPath.includes("#")) return { ok: false, reason: "a request target has no fragment (#)" };
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: "the path is not valid percent-encoding" };
  }
  if ([...decoded].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f))
    return { ok: false, reason: "the path holds control characters" };
  // Encoded, a fragment is no clearer: servers differ on where it ends the path.
  if (decoded.includes("#")) return { ok: false, reason: "the path holds an encoded fragment (%23)" };
  const segments = decoded.split("/").map((segment) => segment.split(";")[0] ?? "");
  // `..;x` is `..` to a Tomcat-style server: dot segments are refused after parameters go.
  if (segments.some((segment) => segment === "." || segment === ".."))
    return { ok: false, reason: "the path has `.` or `..` segments" };
  const path = `/${segments.filter((segment) => segment !== "").join("/")}`;
  return { ok: true, path };
}
