import type { BottlePlan, PlannedRoute } from "../../../plan/bottle-plan.ts";
import { CRED_PROXY_URL } from "../../../plan/bottle-plan.ts";
import { AGENT_HOME } from "../agent-env.ts";

/**
 * What each cred-proxy route role configures in the agent (docs/architecture.md, "Sidecars"), as
 * pure renderers: the agent gets URLs pointing at cred-proxy and, where a client refuses to start
 * without one, a placeholder credential that is not a secret (cred-proxy drops it and injects the
 * real one).
 */

/** Obviously not a secret, and recognised as a placeholder by the secret scanner. */
export const PLACEHOLDER_TOKEN = "claude-bottle-placeholder-cred-proxy-injects-the-real-token";

export const AGENT_NPMRC = `${AGENT_HOME}/.npmrc`;
export const AGENT_TEA_CONFIG = `${AGENT_HOME}/.config/tea/config.yml`;
/** Included from ~/.gitconfig, so whatever git-gate wrote there stays as it is. */
export const AGENT_CRED_PROXY_GITCONFIG = `${AGENT_HOME}/.config/claude-bottle/cred-proxy.gitconfig`;

function routeUrl(route: PlannedRoute): string {
  return `${CRED_PROXY_URL}${route.path}`;
}

function withRole(plan: BottlePlan, role: PlannedRoute["roles"][number]): PlannedRoute[] {
  return plan.credProxy.routes.filter((route) => route.roles.includes(role));
}

/**
 * `anthropic-base-url`: Claude Code talks to cred-proxy. It will not start without a credential,
 * so it gets a placeholder of the kind the route injects: an OAuth token for `Bearer` (so it also
 * sends the OAuth beta header the upstream expects), an API key for `x-api-key`. Set in the
 * agent's environment at create time (prepare.ts), so every process sees it.
 */
export function credProxyAgentEnv(plan: BottlePlan): Record<string, string> {
  const route = withRole(plan, "anthropic-base-url")[0];
  if (route === undefined) return {};
  return {
    ANTHROPIC_BASE_URL: routeUrl(route),
    ...(route.authScheme === "x-api-key"
      ? { ANTHROPIC_API_KEY: PLACEHOLDER_TOKEN }
      : { CLAUDE_CODE_OAUTH_TOKEN: PLACEHOLDER_TOKEN }),
  };
}

/** `npm-registry`: ~/.npmrc with the registry on cred-proxy and a placeholder token for it. */
export function npmrcText(plan: BottlePlan): string | undefined {
  const route = withRole(plan, "npm-registry")[0];
  if (route === undefined) return undefined;
  const registry = `${routeUrl(route)}/`;
  const scope = registry.replace(/^http:/, "");
  return [
    "# Written by claude-bottle: the registry is reached through cred-proxy, which holds the token.",
    `registry=${registry}`,
    `${scope}:_authToken=${PLACEHOLDER_TOKEN}`,
    "",
  ].join("\n");
}

/** Lower-case host names of bottle.git: git-gate serves them, cred-proxy must not. */
function gitGateHosts(plan: BottlePlan): Set<string> {
  return new Set(plan.gitRemotes.map((remote) => remote.host.toLowerCase()));
}

export interface InsteadOfRule {
  /** http://cred-proxy:9099/<path>/ */
  url: string;
  /** The upstream URL prefix it replaces, with a trailing slash. */
  insteadOf: string;
}

/**
 * `git-insteadof`: HTTPS git URLs of the route's upstream are rewritten to cred-proxy, so clones
 * and fetches carry the token. A host that bottle.git declares is left alone: its pushes must go
 * through git-gate (scanned), and two rewrites of one host would fight.
 */
export function insteadOfRules(plan: BottlePlan): InsteadOfRule[] {
  const gated = gitGateHosts(plan);
  return withRole(plan, "git-insteadof")
    .filter((route) => !gated.has(new URL(route.upstream).hostname.toLowerCase()))
    .map((route) => ({ url: `${routeUrl(route)}/`, insteadOf: `${route.upstream}/` }));
}

/** The include file of the git-insteadof rules; undefined when there are none. */
export function gitconfigText(plan: BottlePlan): string | undefined {
  const rules = insteadOfRules(plan);
  if (rules.length === 0) return undefined;
  const quote = (value: string) => `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
  return [
    "# Written by claude-bottle: HTTPS git traffic to these upstreams goes through cred-proxy.",
    ...rules.flatMap((rule) => [`[url ${quote(rule.url)}]`, `\tinsteadOf = ${quote(rule.insteadOf)}`]),
    "",
  ].join("\n");
}

/** `tea-login`: the Gitea CLI's config, one login per route, the first one the default. */
export function teaConfigText(plan: BottlePlan): string | undefined {
  const routes = withRole(plan, "tea-login");
  if (routes.length === 0) return undefined;
  const lines = [
    "# Written by claude-bottle: tea reaches Gitea through cred-proxy, which holds the token.",
    "logins:",
  ];
  routes.forEach((route, index) => {
    lines.push(
      `  - name: ${JSON.stringify(new URL(route.upstream).hostname + route.path.replaceAll("/", "-").replace(/-$/, ""))}`,
      `    url: ${JSON.stringify(routeUrl(route))}`,
      `    token: ${JSON.stringify(PLACEHOLDER_TOKEN)}`,
      `    default: ${index === 0}`,
      "    insecure: false",
      '    ssh_host: ""',
      '    ssh_key: ""',
      '    user: ""',
    );
  });
  lines.push("preferences:", "  editor: false", "  flag_defaults:", '    remote: ""', "");
  return lines.join("\n");
}
