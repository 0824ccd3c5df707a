import { parse, stringify } from "yaml";
import type { DockerEngine } from "../backend/docker/engine.ts";
import { resourceName } from "../backend/instance.ts";
import { EGRESS } from "../plan/egress-config.ts";
import { egressConfigSchema } from "../sidecars/egress-proxy/config.ts";
import { ApplyError, healthGeneration, readLiveFile, replaceAndReload } from "./live-reload.ts";
import { issueLines } from "./protocol.ts";

export interface AllowlistChange {
  before: string[];
  after: string[];
}

/**
 * Changes the running egress proxy's allowlist: reads its config from the container, applies
 * `edit`, checks the whole config against the proxy's own schema, writes it back and reloads
 * (SIGHUP). Nothing else in the config changes.
 */
export async function applyAllowlist(
  engine: DockerEngine,
  instance: string,
  edit: (allowlist: readonly string[]) => string[],
  owner: { uid: number; gid: number },
): Promise<AllowlistChange> {
  const container = resourceName(instance, "egress-proxy");
  const previous = await readLiveFile({ engine, container, path: EGRESS.configFile });
  const config = parse(previous) as Record<string, unknown>;
  const before = Array.isArray(config.allowlist) ? config.allowlist.map(String) : [];
  const after = edit(before);
  const next = { ...config, allowlist: after };
  const checked = egressConfigSchema.safeParse(next);
  if (!checked.success)
    throw new ApplyError(`the new egress config is invalid: ${issueLines(checked.error).join("; ")}`);
  await replaceAndReload(
    {
      engine,
      container,
      path: EGRESS.configFile,
      mode: 0o600,
      ...owner,
      generation: healthGeneration(engine, container, `http://127.0.0.1:${EGRESS.healthPort}/healthz`),
    },
    previous,
    stringify(next),
  );
  return { before, after };
}

/** Adds an entry once (an operator may approve a host that another change already added). */
export function withEntry(entry: string): (allowlist: readonly string[]) => string[] {
  return (allowlist) => (allowlist.includes(entry) ? [...allowlist] : [...allowlist, entry]);
}
