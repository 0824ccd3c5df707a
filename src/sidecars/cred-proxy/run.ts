import { readFile } from "node:fs/promises";
import type * as https from "node:https";
import type { AddressInfo } from "node:net";
import { createAuditLog } from "../common/audit.ts";
import { parseListenAddress, startHealthServer } from "../common/listen.ts";
import { describeLoadFailure, loadRoutes, type RouteTable } from "./routes.ts";
import { type CredProxy, type CredProxyAuditRecord, createCredProxy } from "./server.ts";
import { TunnelAgent } from "./tunnel-agent.ts";

/**
 * cred-proxy as a program: load routes.json (a missing or invalid file stops the program), serve,
 * reload on demand. A reload that fails keeps the routes in force; reloads run one at a time.
 */

export class CredProxyConfigError extends Error {
  readonly code = "E_CRED_PROXY_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = "CredProxyConfigError";
  }
}

export function isCredProxyConfigError(error: unknown): error is CredProxyConfigError {
  return error instanceof CredProxyConfigError;
}

export interface CredProxySettings {
  routesFile: string;
  /** host:port; port 0 picks one. */
  listen: string;
  /** host:port of the health listener, or undefined for none. */
  health?: string | undefined;
  /** http://egress-proxy:8888; every upstream call tunnels through it. */
  egressProxy: string;
  /** PEM file of the per-bottle CA. */
  caFile?: string | undefined;
  /** Token slots (CRED_PROXY_TOKEN_<n>) → values; read from the environment by main.ts. */
  tokens: Readonly<Record<string, string>>;
  log?: (message: string) => void;
  /** Tests may hand in their own upstream agent. */
  agent?: https.Agent;
  /** Where each request's audit line goes (JSONL, appended); none when undefined. */
  auditFile?: string | undefined;
  /** Cap of the audit file and its rotation (bytes). */
  auditMaxBytes?: number | undefined;
}

type ReloadResult = { ok: true; routes: number } | { ok: false; reason: string };

export interface RunningCredProxy extends AsyncDisposable {
  readonly address: AddressInfo;
  readonly healthAddress: AddressInfo | undefined;
  readonly proxy: CredProxy;
  readonly generation: number;
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

function hostPort(address: string): { host: string; port: number } {
  const parsed = parseListenAddress(address);
  if (parsed === undefined) throw new CredProxyConfigError(`bad listen address ${address}`);
  return parsed;
}

async function load(settings: CredProxySettings): Promise<RouteTable> {
  const loaded = await loadRoutes(settings.routesFile, settings.tokens);
  if (loaded.status !== "ok") throw new CredProxyConfigError(describeLoadFailure(loaded));
  return loaded.table;
}

export async function startCredProxy(settings: CredProxySettings): Promise<RunningCredProxy> {
  const log = settings.log ?? ((message: string) => process.stderr.write(`cred-proxy: ${message}\n`));
  const table = await load(settings);
  let agent: https.Agent;
  if (settings.agent !== undefined) agent = settings.agent;
  else {
    let ca: string[] = [];
    if (settings.caFile !== undefined) {
      try {
        ca = [await readFile(settings.caFile, "utf8")];
      } catch {
        throw new CredProxyConfigError(`CA certificate cannot be read: ${settings.caFile}`);
      }
    }
    let proxy: URL;
    try {
      proxy = new URL(settings.egressProxy);
    } catch {
      throw new CredProxyConfigError(`bad egress proxy URL ${settings.egressProxy}`);
    }
    agent = new TunnelAgent({ proxy, extraCa: ca });
  }
  const stack = new AsyncDisposableStack();
  // Group-readable: the host reads it through the group it shares the dir with (git-gate too).
  const audit =
    settings.auditFile === undefined
      ? undefined
      : stack.use(
          createAuditLog<CredProxyAuditRecord>({
            path: settings.auditFile,
            mode: 0o640,
            ...(settings.auditMaxBytes === undefined ? {} : { maxBytes: settings.auditMaxBytes }),
          }),
        );
  const proxy = createCredProxy({
    routes: table,
    agent,
    log,
    ...(audit === undefined ? {} : { audit: (record: CredProxyAuditRecord) => audit.write(record) }),
  });
  stack.defer(() => agent.destroy());
  stack.use(proxy);
  let generation = 1;
  try {
    const listen = hostPort(settings.listen);
    const address = await proxy.listen(listen.host, listen.port);
    let healthAddress: AddressInfo | undefined;
    if (settings.health !== undefined) {
      const h = hostPort(settings.health);
      healthAddress = await startHealthServer(stack, h, () => ({
        generation,
        routes: proxy.routes.routes.map((route) => route.path),
        requests: proxy.requests,
      }));
    }
    log(
      `listening on ${address.address}:${address.port} with ${table.routes.length} route(s)${healthAddress ? `, health on ${healthAddress.address}:${healthAddress.port}` : ""}`,
    );

    const reloadOnce = async (): Promise<ReloadResult> => {
      const next = await loadRoutes(settings.routesFile, settings.tokens);
      if (next.status !== "ok") {
        const reason = describeLoadFailure(next);
        log(`reload refused, keeping the routes in force: ${reason}`);
        return { ok: false, reason };
      }
      proxy.reload(next.table);
      generation++;
      log(`reloaded routes (generation ${generation}): ${next.table.routes.map((r) => r.path).join(", ")}`);
      return { ok: true, routes: next.table.routes.length };
    };
    let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, routes: table.routes.length });
    const moved = stack.move();
    const close = () => moved.disposeAsync();
    return {
      address,
      healthAddress,
      proxy,
      get generation() {
        return generation;
      },
      reload() {
        reloading = reloading.then(reloadOnce, reloadOnce);
        return reloading;
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}
