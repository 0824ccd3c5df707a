import type { RoutesFile } from "../contracts/cred-proxy.ts";
import type { BottlePlan } from "./bottle-plan.ts";

/**
 * routes.json of a bottle (docs/cred-proxy.md). Pure. Token values never appear, and neither do
 * the host variable names (`token_ref`): the agent may be shown this file, and a variable name
 * tells it what to look for on the host. Routes are sorted longest path first, the order the
 * proxy matches them in. Every field is written out: the schema's output, which it parses as is.
 */
export function renderCredProxyRoutes(plan: BottlePlan): RoutesFile {
  return {
    version: 1,
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
