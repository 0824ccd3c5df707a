import type { DockerEngine } from "../backend/docker/engine/engine.ts";
import { ReplaceAgentError, replaceAgent } from "../backend/docker/lifecycle/replace-agent.ts";
import { syncAgentCurrentConfig } from "../backend/docker/provision/current-config.ts";
import { resourceName } from "../backend/instance.ts";
import type { Proposal, RenderedRouteEntry } from "../contracts/supervise.ts";
import {
  readCurrentConfig,
  renderAllowlist,
  writeCurrentConfig,
} from "../contracts/supervise-current-config.ts";
import {
  validateAllowlistEntry,
  validateDockerfile,
  validateRoutes,
} from "../contracts/supervise-validate.ts";
import { errorMessage } from "../lib/user-error.ts";
import { hostOf } from "../plan/bottle-plan.ts";
import { planFor } from "../plan/plan-for.ts";
import { planToJson } from "../plan/render-json.ts";
import { applyAllowlist, withEntry } from "./apply-egress.ts";
import { applyRoutes, sortRoutes } from "./apply-routes.ts";
import { changedOnly, lineDiff } from "./diff.ts";
import { ApplyError } from "./live-reload.ts";
import { routeLine } from "./render.ts";

/** What an approval applies: the proposal's change, or the operator's modification of it. */
export type Change =
  | { kind: "egress"; entry: string }
  | { kind: "routes"; routes: RenderedRouteEntry[] }
  | { kind: "capability"; dockerfile: string };

export interface Applied {
  /** In words, for the agent and the operator: `added x:443 to egress.allowlist`. */
  summary: string;
  before: string;
  after: string;
}

export interface ApplyTarget {
  engine: DockerEngine;
  instance: string;
  currentConfigDir: string;
  /** Owner of sidecar config files (the sidecars run as the CLI's uid). */
  owner: { uid: number; gid: number };
  /** The claude-bottle home: a capability re-plans the bottle from its state record there. */
  home?: string;
  /** Host environment a capability re-plans the bottle with (its manifests' host variables). */
  env?: NodeJS.ProcessEnv;
  /** Aborts a long apply (a capability build); the proposal then stays pending. */
  signal?: AbortSignal | undefined;
}

export function changeOf(proposal: Proposal): Change {
  switch (proposal.kind) {
    case "egress":
      return { kind: "egress", entry: proposal.entry };
    case "routes":
      return { kind: "routes", routes: proposal.routes };
    case "capability":
      return { kind: "capability", dockerfile: proposal.dockerfile };
  }
}

/** The change as the operator edits it in $EDITOR: an entry, a JSON route list, a Dockerfile. */
export function changeText(change: Change): string {
  switch (change.kind) {
    case "egress":
      return `${change.entry}\n`;
    case "routes":
      return `${JSON.stringify(change.routes, null, 2)}\n`;
    case "capability":
      return change.dockerfile;
  }
}

/** Parses what the operator wrote back, validated like the agent's proposal was. */
export function parseChangeText(
  kind: Change["kind"],
  text: string,
  currentConfigDir: string,
): { ok: true; change: Change } | { ok: false; problems: string[] } {
  const current = readCurrentConfig(currentConfigDir);
  if (kind === "egress") {
    const lines = text
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter(Boolean);
    if (lines.length !== 1) return { ok: false, problems: ["write exactly one allowlist entry"] };
    const entry = validateAllowlistEntry(lines[0] ?? "");
    return entry.ok ? { ok: true, change: { kind, entry: entry.value } } : entry;
  }
  if (kind === "routes") {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, problems: ["routes: not valid JSON"] };
    }
    const routes = validateRoutes(json, current.routes?.routes ?? []);
    return routes.ok ? { ok: true, change: { kind, routes: routes.value } } : routes;
  }
  const dockerfile = validateDockerfile(text, current.dockerfile);
  return dockerfile.ok ? { ok: true, change: { kind, dockerfile: dockerfile.value } } : dockerfile;
}

/** The current policy text a change of this kind replaces (for diffs before applying). */
export function currentText(kind: Change["kind"], currentConfigDir: string): string {
  const current = readCurrentConfig(currentConfigDir);
  if (kind === "egress") return renderAllowlist(current.allowlist);
  if (kind === "routes") return routesText(current.routes?.routes ?? [], current.allowlist);
  return current.dockerfile ?? "";
}

/** What the current text would become: the diff shown before the operator decides. */
export function proposedText(change: Change, currentConfigDir: string): string {
  const current = readCurrentConfig(currentConfigDir);
  if (change.kind === "egress") return renderAllowlist(withEntry(change.entry)(current.allowlist));
  if (change.kind === "routes") {
    const allowlist = change.routes.reduce(
      (list, route) => withEntry(hostOf(route.upstream))(list),
      current.allowlist,
    );
    return routesText(sortRoutes(change.routes), allowlist);
  }
  return changeText(change);
}

/**
 * Every change an approval makes, one item each, for the operator's confirmation: each host the
 * allowlist gains or loses, each route added or removed (path, upstream, scheme, slot and rules),
 * each line of the agent's Dockerfile.
 */
export function changeItems(change: Change, currentConfigDir: string): string[] {
  const current = readCurrentConfig(currentConfigDir);
  const delta = (before: readonly string[], after: readonly string[], what: string) => [
    ...after.filter((item) => !before.includes(item)).map((item) => `${what} +${item}`),
    ...before.filter((item) => !after.includes(item)).map((item) => `${what} -${item}`),
  ];
  switch (change.kind) {
    case "egress":
      return delta(current.allowlist, withEntry(change.entry)(current.allowlist), "egress.allowlist");
    case "routes": {
      const allowlist = change.routes.reduce(
        (list, route) => withEntry(hostOf(route.upstream))(list),
        current.allowlist,
      );
      return [
        ...delta((current.routes?.routes ?? []).map(routeLine), change.routes.map(routeLine), "route"),
        ...delta(current.allowlist, allowlist, "egress.allowlist"),
      ];
    }
    case "capability":
      return [
        "rebuild the agent image",
        ...changedOnly(lineDiff(current.dockerfile ?? "", change.dockerfile), 0)
          .filter((line) => /^[+-]/.test(line) && line.slice(1).trim() !== "")
          .map((line) => `Dockerfile ${line}`),
      ];
  }
}

/**
 * What a routes change is diffed and audited as: the route list, then the egress allowlist (a new
 * upstream host joins it), so the audit shows every line of policy the change touched.
 */
function routesText(routes: readonly RenderedRouteEntry[], allowlist: readonly string[]): string {
  return `${routes.map((route) => `route ${routeLine(route)}\n`).join("")}${renderAllowlist(allowlist)}`;
}

/** Applies a change to the running bottle, live, and updates the agent's current-config view. */
export async function applyChange(target: ApplyTarget, change: Change): Promise<Applied> {
  switch (change.kind) {
    case "egress": {
      const { before, after } = await applyAllowlist(
        target.engine,
        target.instance,
        withEntry(change.entry),
        target.owner,
      );
      await publish(target, { allowlist: after });
      return {
        summary: before.includes(change.entry)
          ? `${change.entry} was already in egress.allowlist`
          : `added ${change.entry} to egress.allowlist`,
        before: renderAllowlist(before),
        after: renderAllowlist(after),
      };
    }
    case "routes": {
      const applied = await applyRoutes(target.engine, target.instance, change.routes, target.owner);
      await publish(target, {
        routes: applied.document,
        allowlist: applied.allowlistAfter,
      });
      const lines = (routes: readonly RenderedRouteEntry[]) => new Set(routes.map(routeLine));
      const [was, now] = [lines(applied.before), lines(applied.after)];
      const added = [...now].filter((line) => !was.has(line));
      const removed = [...was].filter((line) => !now.has(line));
      const hosts = applied.allowlistAfter.filter((entry) => !applied.allowlistBefore.includes(entry));
      return {
        summary: [
          `cred-proxy routes now ${applied.after.map((route) => route.path).join(", ") || "(none)"}`,
          ...(added.length ? [`added ${added.join(", ")}`] : []),
          ...(removed.length ? [`removed ${removed.join(", ")}`] : []),
          ...(hosts.length ? [`added ${hosts.join(", ")} to egress.allowlist`] : []),
        ].join("; "),
        before: routesText(applied.before, applied.allowlistBefore),
        after: routesText(applied.after, applied.allowlistAfter),
      };
    }
    case "capability": {
      const before = currentText("capability", target.currentConfigDir);
      const replaced = await applyCapability(target, change.dockerfile);
      await publish(target, { dockerfile: change.dockerfile });
      return {
        summary: `rebuilt the agent image ${replaced.image} from the approved Dockerfile and restarted the agent on it (same bottle; kept ${replaced.kept.map((name) => `~/${name}`).join(", ") || "nothing"}); an attached session continues in it by itself, otherwise \`claude-bottle resume ${target.instance}\` continues the conversation`,
        before,
        after: change.dockerfile,
      };
    }
  }
}

/**
 * Rebuilds the agent image from the Dockerfile and replaces the agent container (replace-agent.ts),
 * the bottle re-planned from its state record with the operator's environment. Any failure is an
 * ApplyError: the proposal stays pending.
 */
async function applyCapability(target: ApplyTarget, dockerfile: string) {
  const { home } = target;
  if (home === undefined) throw new ApplyError("applying a capability needs the claude-bottle home");
  try {
    return await replaceAgent({
      engine: target.engine,
      home,
      instance: target.instance,
      dockerfile,
      signal: target.signal,
      plan: (record) => {
        // Warnings of the manifest catalog would land in the dashboard's screen: dropped.
        const plan = planFor(
          { env: target.env ?? process.env, cwd: record.cwd, warn: () => {} },
          record.agent,
        );
        const changed = planChange(record.plan, planToJson(plan));
        if (changed !== undefined) throw new ApplyError(changed);
        return plan;
      },
    });
  } catch (error) {
    if (error instanceof ReplaceAgentError)
      throw new ApplyError(
        error.changed ? `${error.message}; the bottle has no agent now: stop it` : error.message,
        { cause: error },
      );
    throw new ApplyError(`replacing the agent failed: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Why re-planning a bottle for its new agent arrives somewhere else, or undefined when it does
 * not: the manifests may have changed since the start (a commit the agent pushed, pulled into the
 * project), and the new container must not move to another bottle's env, routes or remotes.
 */
function planChange(
  launched: Record<string, unknown> | undefined,
  now: Record<string, unknown>,
): string | undefined {
  if (launched === undefined)
    return "the bottle's state record has no launch plan (started by an older claude-bottle); stop it and start it again";
  const [before, after] = [launched, now].map((plan) => `${JSON.stringify(plan, null, 2)}\n`);
  if (before === after) return undefined;
  const diff = changedOnly(lineDiff(before ?? "", after ?? ""), 1);
  return `the bottle's manifests changed since it started, so the new agent would get another plan; refused. Stop the bottle and start it again to use them. Plan (start --dry-run --format json) then → now:\n${diff.join("\n")}`;
}

/** Replaces the whole allowlist (an operator's edit from the dashboard). */
export async function replaceAllowlist(target: ApplyTarget, entries: readonly string[]): Promise<Applied> {
  const { before, after } = await applyAllowlist(
    target.engine,
    target.instance,
    () => [...entries],
    target.owner,
  );
  await publish(target, { allowlist: after });
  return {
    summary: `egress.allowlist: ${
      [
        ...after.filter((entry) => !before.includes(entry)).map((entry) => `added ${entry}`),
        ...before.filter((entry) => !after.includes(entry)).map((entry) => `removed ${entry}`),
      ].join(", ") || "reordered"
    }`,
    before: renderAllowlist(before),
    after: renderAllowlist(after),
  };
}

/** The agent's view follows every applied change: the host copy, then the agent's copy. */
async function publish(target: ApplyTarget, config: Parameters<typeof writeCurrentConfig>[1]): Promise<void> {
  writeCurrentConfig(target.currentConfigDir, config);
  await syncAgentCurrentConfig(
    target.engine,
    resourceName(target.instance, "agent"),
    target.currentConfigDir,
  );
}
