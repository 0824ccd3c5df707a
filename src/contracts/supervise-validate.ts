import { z } from "zod";
import { findMatch, type HostPattern, normalizeHost, parseHostPattern } from "../lib/host-pattern.ts";
import { AUTH_SCHEMES, routeRuleSchema, SERVER_TOOLS } from "../lib/route-rules.ts";
import { parseCapabilityDockerfile } from "./capability-dockerfile.ts";
import { ROUTE_PATH, routeSchema } from "./cred-proxy.ts";
import {
  MAX_DOCKERFILE_BYTES,
  MAX_JUSTIFICATION,
  type RenderedRouteEntry,
  SUPERVISE,
  SUPERVISE_LIMITS,
  type Validated,
} from "./supervise.ts";

/**
 * Validation of what the agent proposes (and of what an operator modifies it into). Pure. A bad
 * proposal is answered at once with every problem, so the agent can fix it and ask again; it
 * never reaches the queue.
 */

export function validateJustification(text: unknown): Validated<string> {
  const value = typeof text === "string" ? text.trim() : "";
  if (value === "") return { ok: false, problems: ["justification: say why the change is needed"] };
  if (value.length > MAX_JUSTIFICATION)
    return { ok: false, problems: [`justification: at most ${MAX_JUSTIFICATION} characters`] };
  return { ok: true, value };
}

export interface EgressEntry {
  /** `host:port`, the narrowest allowlist entry that lets the refused URL through. */
  entry: string;
  host: string;
  port: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "http:": 80,
  "https:": 443,
  "ws:": 80,
  "wss:": 443,
};

/** The allowlist entry for a refused URL; refused when the URL is malformed or already allowed. */
export function validateEgressUrl(url: unknown, allowlist: readonly string[]): Validated<EgressEntry> {
  if (typeof url !== "string" || url.trim() === "")
    return { ok: false, problems: ["url: give the URL that was refused"] };
  if (url.length > SUPERVISE_LIMITS.urlChars)
    return { ok: false, problems: [`url: at most ${SUPERVISE_LIMITS.urlChars} characters`] };
  const text = url.trim();
  let parsed: URL;
  try {
    parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    return { ok: false, problems: ["url: not a URL (expected e.g. https://host/path)"] };
  }
  const defaultPort = DEFAULT_PORTS[parsed.protocol];
  if (defaultPort === undefined)
    return { ok: false, problems: [`url: scheme ${parsed.protocol} is not proxied (http, https, ws, wss)`] };
  const host = normalizeHost(parsed.hostname);
  if (host === undefined)
    return { ok: false, problems: ["url: its host is not a valid host name or address"] };
  const port = parsed.port === "" ? defaultPort : Number(parsed.port);
  const entry = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const pattern = parseHostPattern(entry);
  if (!pattern.ok) return { ok: false, problems: [`url: ${pattern.reason}`] };
  const covering = findMatch(parsePatterns(allowlist), host, port);
  if (covering !== undefined) {
    return {
      ok: false,
      problems: [
        `url: ${entry} is already allowed by the allowlist entry \`${covering.source}\`; the refusal had another reason, so read its X-Bottle-Block code`,
      ],
    };
  }
  return { ok: true, value: { entry, host, port } };
}

/** A single allowlist entry an operator typed (modify), checked like the proxy's schema does. */
export function validateAllowlistEntry(entry: string): Validated<string> {
  const parsed = parseHostPattern(entry.trim());
  return parsed.ok ? { ok: true, value: entry.trim() } : { ok: false, problems: [`entry: ${parsed.reason}`] };
}

export function validateAllowlist(entries: readonly string[]): Validated<string[]> {
  const problems: string[] = [];
  entries.forEach((entry, index) => {
    const parsed = parseHostPattern(entry);
    if (!parsed.ok) problems.push(`allowlist.${index}: ${parsed.reason}`);
  });
  return problems.length ? { ok: false, problems } : { ok: true, value: [...entries] };
}

function parsePatterns(entries: readonly string[]): HostPattern[] {
  return entries.flatMap((entry) => {
    const parsed = parseHostPattern(entry);
    return parsed.ok ? [parsed.pattern] : [];
  });
}

/** The keys of a route: cred-proxy's route schema's. */
const ROUTE_KEYS = new Set(Object.keys(routeSchema.shape));

/**
 * A proposed route list for cred-proxy. Tokens reach cred-proxy only when its container is
 * created, so a route may use only a token slot the running proxy already holds.
 */
export function validateRoutes(
  input: unknown,
  current: readonly RenderedRouteEntry[],
): Validated<RenderedRouteEntry[]> {
  if (!Array.isArray(input)) return { ok: false, problems: ["routes: expected the complete list of routes"] };
  const bounds = routeBounds(input);
  if (bounds.length) return { ok: false, problems: bounds };
  const slots = new Set(current.map((route) => route.slot));
  const problems: string[] = [];
  const routes: RenderedRouteEntry[] = [];
  const paths = new Set<string>();
  input.forEach((raw: unknown, index) => {
    const at = `routes.${index}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      problems.push(`${at}: expected an object {path, upstream, auth_scheme, slot}`);
      return;
    }
    const route = raw as Record<string, unknown>;
    for (const key of Object.keys(route))
      if (!ROUTE_KEYS.has(key)) problems.push(`${at}.${key}: unknown key`);
    const { path, upstream, auth_scheme: scheme, slot } = route;
    const roles = route.roles ?? [];
    if (typeof path !== "string" || !ROUTE_PATH.test(path))
      problems.push(`${at}.path: expected a path prefix such as /github`);
    else if (paths.has(path)) problems.push(`${at}.path: ${path} appears twice`);
    else paths.add(path);
    if (typeof upstream !== "string" || !isPlainHttpsUrl(upstream))
      problems.push(`${at}.upstream: expected an https:// URL without query or fragment`);
    if (typeof scheme !== "string" || !(AUTH_SCHEMES as readonly string[]).includes(scheme))
      problems.push(`${at}.auth_scheme: expected ${AUTH_SCHEMES.join(", ")}`);
    if (typeof slot !== "string" || !slots.has(slot))
      problems.push(
        `${at}.slot: must be a token slot cred-proxy already holds (${[...slots].join(", ") || "none"}); a new token needs the bottle manifest changed and a new bottle`,
      );
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === "string"))
      problems.push(`${at}.roles: expected a list of strings`);
    const allow = route.allow === undefined ? undefined : z.array(routeRuleSchema).safeParse(route.allow);
    if (allow !== undefined && !allow.success)
      problems.push(
        `${at}.allow: expected [{method, path}] with a method such as GET and a path such as /repos/*`,
      );
    const tools =
      route.server_tools === undefined
        ? undefined
        : z.array(z.enum(SERVER_TOOLS)).safeParse(route.server_tools);
    if (tools !== undefined && !tools.success)
      problems.push(`${at}.server_tools: expected a list of ${SERVER_TOOLS.join(", ")}`);
    if (problems.length === 0) {
      routes.push({
        path: path as string,
        upstream: upstream as string,
        auth_scheme: scheme as RenderedRouteEntry["auth_scheme"],
        slot: slot as string,
        roles: roles as string[],
        ...(allow?.success ? { allow: allow.data } : {}),
        ...(tools?.success && tools.data.length ? { server_tools: tools.data } : {}),
      });
    }
  });
  if (problems.length) return { ok: false, problems };
  if (sameRoutes(routes, current))
    return { ok: false, problems: ["routes: identical to the current routes.json; nothing to change"] };
  return { ok: true, value: routes };
}

/** The size limits of a route list, checked before anything else looks at it. */
function routeBounds(input: readonly unknown[]): string[] {
  const { routes, rolesPerRoute, allowRulesPerRoute, fieldChars } = SUPERVISE_LIMITS;
  if (input.length > routes) return [`routes: at most ${routes} routes`];
  const problems: string[] = [];
  input.forEach((raw, index) => {
    if (typeof raw !== "object" || raw === null) return;
    const route = raw as Record<string, unknown>;
    if (Array.isArray(route.roles) && route.roles.length > rolesPerRoute)
      problems.push(`routes.${index}.roles: at most ${rolesPerRoute} roles`);
    if (Array.isArray(route.allow) && route.allow.length > allowRulesPerRoute)
      problems.push(`routes.${index}.allow: at most ${allowRulesPerRoute} rules`);
    if (longestString(route) > fieldChars)
      problems.push(`routes.${index}: every field at most ${fieldChars} characters`);
  });
  return problems;
}

function longestString(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (typeof value !== "object" || value === null) return 0;
  return Object.values(value).reduce((longest: number, item) => Math.max(longest, longestString(item)), 0);
}

function isPlainHttpsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "https:" && url.search === "" && url.hash === "" && url.username === "";
  } catch {
    return false;
  }
}

function sameRoutes(a: readonly RenderedRouteEntry[], b: readonly RenderedRouteEntry[]): boolean {
  const key = (routes: readonly RenderedRouteEntry[]) =>
    JSON.stringify(
      [...routes]
        .map((route) => [
          route.path,
          route.upstream,
          route.auth_scheme,
          route.slot,
          [...route.roles].sort(),
          route.allow ?? null,
          [...(route.server_tools ?? [])].sort(),
        ])
        .sort(),
    );
  return key(a) === key(b);
}

/**
 * A new agent Dockerfile: bounded, different from the current one, and buildable by the confined
 * capability builder (capability-dockerfile.ts): FROM the same image as the current Dockerfile.
 */
export function validateDockerfile(input: unknown, current: string | undefined): Validated<string> {
  if (typeof input !== "string" || input.trim() === "")
    return { ok: false, problems: ["dockerfile: give the complete new Dockerfile"] };
  if (Buffer.byteLength(input) > MAX_DOCKERFILE_BYTES)
    return { ok: false, problems: [`dockerfile: at most ${MAX_DOCKERFILE_BYTES} bytes`] };
  const parsed = parseCapabilityDockerfile(input);
  if (!parsed.ok) return { ok: false, problems: parsed.problems.map((problem) => `dockerfile: ${problem}`) };
  const problems: string[] = [];
  const base = current === undefined ? undefined : parseCapabilityDockerfile(current);
  const from = base?.ok ? base.value.from : undefined;
  if (from !== undefined && parsed.value.from !== from)
    problems.push(
      `dockerfile: FROM must stay \`${from}\` (this bottle's agent image, as in ${SUPERVISE.currentConfigMount}/Dockerfile); no other image is pulled or used`,
    );
  if (current !== undefined && input.trim() === current.trim())
    problems.push("dockerfile: identical to the current Dockerfile; nothing to change");
  return problems.length ? { ok: false, problems } : { ok: true, value: input };
}
