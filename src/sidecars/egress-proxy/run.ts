import type { AddressInfo } from "node:net";
import { createScanPool, scan } from "../../lib/scanner/index.ts";
import { errorMessage } from "../../lib/user-error.ts";
import { type AuditLog, createAuditLog } from "../common/audit.ts";
import { parseListenAddress, startHealthServer } from "../common/listen.ts";
import {
  describeIssues,
  type LoadConfigResult,
  loadEgressConfig,
  type ResolvedConfig,
} from "./load-config.ts";
import { buildPolicy } from "./policy.ts";
import type { LookupAll } from "./resolve.ts";
import { createEgressProxy, type EgressProxy } from "./server.ts";

/**
 * The egress proxy as a program: load the config (an explicitly named config that fails to load
 * stops the program), start the proxy and the health listener, reload on demand. A reload that
 * fails keeps the running policy. Settings bound at start (listen, health, audit, limits) need a
 * restart; a reload that changes them says so.
 */

export class EgressConfigError extends Error {
  readonly code = "E_EGRESS_CONFIG";
  readonly result: Exclude<LoadConfigResult, { status: "ok" }>;
  constructor(result: Exclude<LoadConfigResult, { status: "ok" }>) {
    super(result.status === "missing" ? `egress config not found: ${result.path}` : describeIssues(result));
    this.name = "EgressConfigError";
    this.result = result;
  }
}

export function isEgressConfigError(error: unknown): error is EgressConfigError {
  return error instanceof EgressConfigError;
}

type ReloadResult = { ok: true; restartNeeded: readonly string[] } | { ok: false; reason: string };

export interface RunningEgressProxy extends AsyncDisposable {
  readonly address: AddressInfo;
  readonly healthAddress: AddressInfo | undefined;
  readonly proxy: EgressProxy;
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

function hostPort(address: string): { host: string; port: number } {
  const parsed = parseListenAddress(address);
  if (parsed === undefined) throw new Error(`bad listen address ${address}`);
  return parsed;
}

const BOUND_AT_START = ["listen", "health", "audit", "limits"] as const;

export async function startEgressProxy(
  configPath: string,
  options: { log?: (message: string) => void; lookupAll?: LookupAll } = {},
): Promise<RunningEgressProxy> {
  const log = options.log ?? ((message: string) => process.stderr.write(`egress-proxy: ${message}\n`));
  const loaded = await loadEgressConfig(configPath);
  if (loaded.status !== "ok") throw new EgressConfigError(loaded);
  let active: ResolvedConfig = loaded.resolved;
  const { config } = active;

  const pool = createScanPool();
  const scanner = { scan, scanAsync: (text: string, o?: Parameters<typeof scan>[1]) => pool.scan(text, o) };
  const policyOptions = options.lookupAll === undefined ? {} : { lookupAll: options.lookupAll };
  const audit: AuditLog = createAuditLog(
    active.auditPath === undefined
      ? { stream: process.stdout }
      : {
          path: active.auditPath,
          ...(active.config.audit.max_bytes === undefined ? {} : { maxBytes: active.config.audit.max_bytes }),
        },
  );
  const proxy = createEgressProxy({
    policy: buildPolicy(active, scanner, policyOptions),
    limits: config.limits,
    audit: (record) => audit.write(record),
    log,
  });
  let generation = 1;
  const stack = new AsyncDisposableStack();
  stack.defer(async () => {
    await pool.close();
  });
  stack.use(audit);
  stack.use(proxy);
  try {
    const listen = hostPort(config.listen);
    const address = await proxy.listen(listen.host, listen.port);
    let healthAddress: AddressInfo | undefined;
    if (config.health !== undefined) {
      const h = hostPort(config.health);
      healthAddress = await startHealthServer(stack, h, () => ({ tunnels: proxy.openTunnels, generation }));
    }
    log(
      `listening on ${address.address}:${address.port}${healthAddress ? `, health on ${healthAddress.address}:${healthAddress.port}` : ""}`,
    );

    let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, restartNeeded: [] });
    const reloadOnce = async (): Promise<ReloadResult> => {
      const next = await loadEgressConfig(configPath);
      if (next.status !== "ok") {
        const reason = next.status === "missing" ? `config not found: ${next.path}` : describeIssues(next);
        log(`reload refused, keeping the running policy: ${reason}`);
        return { ok: false, reason };
      }
      let policy: ReturnType<typeof buildPolicy>;
      try {
        policy = buildPolicy(next.resolved, scanner, policyOptions);
      } catch (error) {
        const reason = errorMessage(error);
        log(`reload refused, keeping the running policy: ${reason}`);
        return { ok: false, reason };
      }
      proxy.reload(policy);
      const restartNeeded = BOUND_AT_START.filter(
        (key) => JSON.stringify(next.resolved.config[key]) !== JSON.stringify(active.config[key]),
      );
      active = next.resolved;
      generation++;
      log(
        `reloaded policy (generation ${generation})${restartNeeded.length > 0 ? `; restart to apply ${restartNeeded.join(", ")}` : ""}`,
      );
      return { ok: true, restartNeeded };
    };
    const moved = stack.move();
    const close = () => moved.disposeAsync();
    return {
      address,
      healthAddress,
      proxy,
      reload() {
        // Reloads run one after another: the last SIGHUP wins, none interleave.
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
