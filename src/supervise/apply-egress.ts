import { parse, stringify } from "yaml";
import type { DockerEngine } from "../backend/docker/engine/engine.ts";
import { resourceName } from "../backend/instance.ts";

import { EGRESS, type EgressConfigInput, egressConfigSchema } from "../contracts/egress-proxy.ts";
import { issueLines } from "../contracts/supervise.ts";
import { ApplyError, healthGeneration, readLiveFile, replaceAndReload } from "./live-reload.ts";

export interface AllowlistChange {
  before: string[];
  after: string[];
}

/** The egress proxy's config as the host wrote it (the YAML file it reads). */
export type EgressConfigDocument = EgressConfigInput;

/** A config change that took; `restore` puts the previous file back and reloads (a rollback). */
export interface EgressConfigChange {
  before: EgressConfigDocument;
  after: EgressConfigDocument;
  changed: boolean;
  restore(): Promise<void>;
}

/**
 * Changes the running egress proxy's config: reads it from the container, applies `edit`, checks
 * the whole config against the proxy's own schema, writes it back and reloads (SIGHUP). An edit
 * that changes nothing writes nothing.
 */
export async function editEgressConfig(
  engine: DockerEngine,
  instance: string,
  edit: (config: EgressConfigDocument) => EgressConfigDocument,
  owner: { uid: number; gid: number },
): Promise<EgressConfigChange> {
  const container = resourceName(instance, "egress-proxy");
  const previous = await readLiveFile({ engine, container, path: EGRESS.configFile });
  const before = parse(previous) as EgressConfigDocument;
  const after = edit(structuredClone(before));
  const checked = egressConfigSchema.safeParse(after);
  if (!checked.success)
    throw new ApplyError(`the new egress config is invalid: ${issueLines(checked.error).join("; ")}`);
  const next = stringify(after);
  const target = {
    engine,
    container,
    path: EGRESS.configFile,
    mode: 0o600,
    ...owner,
    generation: healthGeneration(engine, container, `http://127.0.0.1:${EGRESS.healthPort}/healthz`),
  };
  const changed = next !== stringify(before);
  if (changed) await replaceAndReload(target, previous, next);
  return {
    before,
    after,
    changed,
    restore: async () => {
      if (changed) await replaceAndReload(target, next, previous);
    },
  };
}

/** The `allowlist` of an egress config document. */
export function allowlistOf(config: EgressConfigDocument): string[] {
  return [...(config.allowlist ?? [])];
}

/** Changes the running egress proxy's allowlist; nothing else in the config changes. */
export async function applyAllowlist(
  engine: DockerEngine,
  instance: string,
  edit: (allowlist: readonly string[]) => string[],
  owner: { uid: number; gid: number },
): Promise<AllowlistChange> {
  const change = await editEgressConfig(
    engine,
    instance,
    (config) => ({ ...config, allowlist: edit(allowlistOf(config)) }),
    owner,
  );
  return { before: allowlistOf(change.before), after: allowlistOf(change.after) };
}

/** Adds an entry once (an operator may approve a host that another change already added). */
export function withEntry(entry: string): (allowlist: readonly string[]) => string[] {
  return (allowlist) => (allowlist.includes(entry) ? [...allowlist] : [...allowlist, entry]);
}
