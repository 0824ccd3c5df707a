import type { DockerEngine } from "../backend/docker/engine/engine.ts";
import { resourceName } from "../backend/instance.ts";
import { CRED_PROXY, type RoutesFile, routesFileSchema } from "../contracts/cred-proxy.ts";
import { issueLines, type RenderedRouteEntry } from "../contracts/supervise.ts";
import { errorMessage } from "../lib/user-error.ts";
import { hostOf } from "../plan/bottle-plan.ts";
import { allowlistOf, type EgressConfigDocument, editEgressConfig } from "./apply-egress.ts";
import { ApplyError, healthGeneration, readLiveFile, replaceAndReload } from "./live-reload.ts";

export interface RoutesApplied {
  before: RenderedRouteEntry[];
  after: RenderedRouteEntry[];
  /** routes.json as cred-proxy now reads it. */
  document: RoutesFile;
  allowlistBefore: string[];
  allowlistAfter: string[];
}

/** The order cred-proxy matches in and the launch renders: longest path first. */
export function sortRoutes(routes: readonly RenderedRouteEntry[]): RenderedRouteEntry[] {
  return [...routes].sort((a, b) => b.path.length - a.path.length || a.path.localeCompare(b.path));
}

/**
 * routes.json with its route list replaced (version, bottle, git_remotes kept), checked against
 * cred-proxy's own schema. A route may only use a token slot the file already uses: tokens reach
 * cred-proxy only when its container is created. Pure.
 */
export function nextRoutesDocument(
  previousText: string,
  routes: readonly RenderedRouteEntry[],
): { ok: true; document: RoutesFile; before: RenderedRouteEntry[] } | { ok: false; problems: string[] } {
  let previous: unknown;
  try {
    previous = JSON.parse(previousText);
  } catch {
    return { ok: false, problems: ["cred-proxy's routes.json is not valid JSON"] };
  }
  const parsedBefore = routesFileSchema.safeParse(previous);
  if (!parsedBefore.success)
    return {
      ok: false,
      problems: issueLines(parsedBefore.error).map((line) => `current routes.json ${line}`),
    };
  const held = new Set(parsedBefore.data.routes.map((route) => route.slot));
  // The previous file's other fields (version, bottle, git_remotes) as they were, checked below.
  const document: RoutesFile = { ...(previous as RoutesFile), routes: sortRoutes(routes) };
  const parsed = routesFileSchema.safeParse(document);
  const problems = parsed.success ? [] : issueLines(parsed.error);
  const paths = new Set<string>();
  routes.forEach((route, index) => {
    if (paths.has(route.path)) problems.push(`routes.${index}.path: duplicate route path`);
    paths.add(route.path);
    if (!held.has(route.slot)) problems.push(`routes.${index}.slot: ${route.slot} is not held by cred-proxy`);
  });
  if (problems.length) return { ok: false, problems };
  return { ok: true, document, before: parsedBefore.data.routes };
}

/**
 * The egress config a route list needs: every upstream host on the allowlist (added, never
 * removed), and each route's token allowed to its host (`dlp.known_tokens`, copied from the
 * slot's existing entry: the host never holds the token value). Pure; throws ApplyError when a
 * slot has no known-token entry to copy.
 */
export function egressForRoutes(
  config: EgressConfigDocument,
  routes: readonly RenderedRouteEntry[],
): EgressConfigDocument {
  const allowlist = allowlistOf(config);
  for (const route of routes) {
    const host = hostOf(route.upstream);
    if (!allowlist.includes(host)) allowlist.push(host);
  }
  const dlp = config.dlp ?? {};
  const known = dlp.known_tokens ?? [];
  const tokens = [...known];
  for (const route of routes) {
    const host = hostOf(route.upstream);
    const same = known.filter((entry) => entry.name === route.slot);
    const model = same[0];
    if (model === undefined)
      throw new ApplyError(
        `the egress proxy has no known-token entry for ${route.slot}; its token could not be allowed to ${host}`,
      );
    if (!tokens.some((entry) => entry.name === route.slot && entry.host === host))
      tokens.push({ ...model, host });
  }
  return { ...config, allowlist, dlp: { ...dlp, known_tokens: tokens } };
}

/**
 * Applies a new route list to a running bottle, live: the egress proxy first (so the new hosts
 * are reachable, with the token, before any route points at them), then cred-proxy's routes.json,
 * each by SIGHUP with its reload generation checked. If cred-proxy refuses the file, the egress
 * change is rolled back too, so a failed apply changes nothing.
 */
export async function applyRoutes(
  engine: DockerEngine,
  instance: string,
  routes: readonly RenderedRouteEntry[],
  owner: { uid: number; gid: number },
  options: { reloadTimeoutMs?: number } = {},
): Promise<RoutesApplied> {
  const container = resourceName(instance, "cred-proxy");
  const previous = await readLiveFile({ engine, container, path: CRED_PROXY.routesFile });
  const planned = nextRoutesDocument(previous, routes);
  if (!planned.ok) throw new ApplyError(`the new routes.json is invalid: ${planned.problems.join("; ")}`);
  const egress = await editEgressConfig(engine, instance, (config) => egressForRoutes(config, routes), owner);
  try {
    await replaceAndReload(
      {
        engine,
        container,
        path: CRED_PROXY.routesFile,
        mode: CRED_PROXY.routesMode,
        uid: CRED_PROXY.uid,
        gid: CRED_PROXY.gid,
        generation: healthGeneration(engine, container, `http://127.0.0.1:${CRED_PROXY.healthPort}/healthz`),
        ...options,
      },
      previous,
      `${JSON.stringify(planned.document, null, 2)}\n`,
    );
  } catch (error) {
    const rollback = await egress.restore().then(
      () => "",
      (cause: unknown) => `; rolling back the egress proxy's config failed too: ${errorMessage(cause)}`,
    );
    const message = errorMessage(error);
    throw new ApplyError(`${message}${rollback}`, { cause: error });
  }
  return {
    before: planned.before,
    after: sortRoutes(routes),
    document: planned.document,
    allowlistBefore: allowlistOf(egress.before),
    allowlistAfter: allowlistOf(egress.after),
  };
}
