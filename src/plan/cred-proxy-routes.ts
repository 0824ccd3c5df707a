import type { AuthScheme, RouteRule, ServerTool } from "../lib/route-rules.ts";
import type { BottlePlan } from "./bottle-plan.ts";

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
} as const;

export const CRED_PROXY_ROUTES_VERSION = 1;

/** One route of routes.json: what the proxy needs, nothing the agent must not see. */
export interface RenderedRoute {
  path: string;
  upstream: string;
  auth_scheme: AuthScheme;
  /** Name of the cred-proxy's environment variable holding the token (never the value). */
  slot: string;
  roles: string[];
  allow?: RouteRule[];
  server_tools?: ServerTool[];
}

export interface RenderedGitRemote {
  name: string;
  host: string;
  path: string;
  gate_url: string;
}

export interface RenderedRoutes {
  version: number;
  bottle: string;
  supervise: boolean;
  routes: RenderedRoute[];
  /** git-gate remotes, so a refused HTTPS push can name the remote to push to instead. */
  git_remotes: RenderedGitRemote[];
}

/**
 * routes.json of a bottle (docs/cred-proxy.md). Pure. Token values never appear, and neither do
 * the host variable names (`token_ref`): the agent may be shown this file, and a variable name
 * tells it what to look for on the host. Routes are sorted longest path first, the order the
 * proxy matches them in.
 */
export function renderCredProxyRoutes(plan: BottlePlan): RenderedRoutes {
  return {
    version: CRED_PROXY_ROUTES_VERSION,
    bottle: plan.bottle.name,
    supervise: plan.supervise.enabled,
    routes: plan.credProxy.routes
      .map((route) => ({
        path: route.path,
        upstream: route.upstream,
        auth_scheme: route.authScheme,
        slot: route.slot,
        roles: [...route.roles],
        ...(route.allow === undefined ? {} : { allow: route.allow.map((rule) => ({ ...rule })) }),
        ...(route.serverTools.length ? { server_tools: [...route.serverTools] } : {}),
      }))
      .sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path)),
    git_remotes: plan.gitRemotes.map((remote) => ({
      name: remote.name,
      host: remote.host,
      path: remote.path,
      gate_url: remote.gateUrl,
    })),
  };
}

/** The file's text: JSON, two-space indented, newline-terminated. */
export function credProxyRoutesText(plan: BottlePlan): string {
  return `${JSON.stringify(renderCredProxyRoutes(plan), null, 2)}\n`;
}

/** Token slot → value, for the cred-proxy container's environment only (at create time). */
export function credProxyTokenEnv(plan: BottlePlan): Record<string, string> {
  return Object.fromEntries(plan.credProxy.slots.map((slot) => [slot.slot, slot.value.reveal()]));
}
