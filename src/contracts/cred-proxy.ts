import { z } from "zod";
import { AUTH_SCHEMES, routeRuleSchema, SERVER_TOOLS } from "../lib/route-rules.ts";

/**
 * The cred-proxy sidecar's contract with the host: where its files sit in its container, and the
 * shape of routes.json, which the host renders (src/plan/cred-proxy-routes.ts) and the sidecar
 * parses (src/sidecars/cred-proxy/routes.ts).
 */

/** Where the cred-proxy sidecar finds its files and listens, inside its container. */
export const CRED_PROXY = {
  alias: "cred-proxy",
  port: 9099,
  /** Loopback only: the container's healthcheck reaches it, the agent cannot. */
  healthPort: 9098,
  dir: "/etc/claude-bottle/cred-proxy",
  routesFile: "/etc/claude-bottle/cred-proxy/routes.json",
  caCert: "/etc/claude-bottle/cred-proxy/ca.pem",
  /** The file holds no secret, but nobody else in the container needs to read it. */
  routesMode: 0o600,
  /** Host-mounted (logs/<instance>/cred-proxy/): one line per request. */
  auditDir: "/var/log/claude-bottle",
  auditFile: "/var/log/claude-bottle/cred-proxy-audit.jsonl",
  /** The proxy runs as the sidecar image's default user (node), who owns its files. */
  uid: 1000,
  gid: 1000,
} as const;

/**
 * routes.json, as the proxy reads it (rendered on the host by src/plan/cred-proxy-routes.ts). The
 * schema is the single source of truth for its shape; messages name key paths, never values.
 */

/** A route's path prefix on the proxy: `/github`, `/api/v1`. */
export const ROUTE_PATH = /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

/** The name of a cred-proxy environment variable holding a token. */
export const TOKEN_SLOT = /^CRED_PROXY_TOKEN_\d+$/;

export const routeSchema = z.strictObject({
  path: z
    .string()
    .regex(ROUTE_PATH, "expected a path prefix such as /github")
    .describe("Path prefix on the proxy that selects the route."),
  upstream: z
    .url({ protocol: /^https$/, error: "expected an https:// URL" })
    .refine((url) => !new URL(url).search && !new URL(url).hash, "no query or fragment")
    .describe("HTTPS URL the prefix maps to; the rest of the request path is appended."),
  auth_scheme: z.enum(AUTH_SCHEMES),
  slot: z
    .string()
    .regex(TOKEN_SLOT, "expected CRED_PROXY_TOKEN_<n>")
    .describe("Env variable holding the token."),
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
