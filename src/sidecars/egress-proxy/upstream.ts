import * as http from "node:http";
import * as https from "node:https";
import type { SecureContext } from "node:tls";
import { parseIpLiteral } from "../../lib/ip-policy.ts";
import type { Target } from "./types.ts";

/**
 * Keep-alive connection pools to upstreams. Sockets are keyed by the dialled address (already
 * SSRF-checked) and the TLS server name, and verified against the system roots plus upstream_ca.
 * A pool belongs to one policy generation: a reload with new trust gets new pools.
 */

export interface Upstreams {
  readonly http: http.Agent;
  readonly https: https.Agent;
  /** Upgraded connections leave the pool for good: no keep-alive. */
  readonly upgradeTls: https.Agent;
  /** Closes idle sockets; in-flight requests finish. */
  retire(): void;
  destroy(): void;
}

export function createUpstreams(trust: () => SecureContext, options: { idleMs: number }): Upstreams {
  const common = {
    keepAlive: true,
    maxFreeSockets: 256,
    scheduling: "lifo" as const,
    timeout: options.idleMs,
  };
  const httpAgent = new http.Agent(common);
  // The TLS pools are made on first use, with the trust store (built on first use too).
  let httpsAgent: https.Agent | undefined;
  let upgradeTls: https.Agent | undefined;
  const retire = () => {
    for (const agent of [httpAgent, httpsAgent]) {
      for (const sockets of Object.values(agent?.freeSockets ?? {}))
        for (const s of sockets ?? []) s.destroy();
    }
  };
  return {
    http: httpAgent,
    get https() {
      httpsAgent ??= new https.Agent({ ...common, secureContext: trust() });
      return httpsAgent;
    },
    get upgradeTls() {
      upgradeTls ??= new https.Agent({ keepAlive: false, secureContext: trust() });
      return upgradeTls;
    },
    retire,
    destroy() {
      httpAgent.destroy();
      httpsAgent?.destroy();
      upgradeTls?.destroy();
    },
  };
}

/**
 * A request to the checked `address` of `target` (for https, verified for the target's host
 * name), through the given pools: forwarded requests keep their sockets, upgrades do not.
 */
export function requestUpstream(
  target: Target,
  address: string,
  request: { method: string | undefined; headers: string[]; timeoutMs: number },
  agents: { https: https.Agent; http: http.Agent | false },
): http.ClientRequest {
  const options = {
    host: address,
    port: target.port,
    method: request.method,
    path: target.path,
    headers: request.headers,
    timeout: request.timeoutMs,
  };
  return target.scheme === "https"
    ? https.request({ ...options, agent: agents.https, ...tlsOptionsFor(target.host) })
    : http.request({ ...options, agent: agents.http });
}

/**
 * TLS options for dialling the checked address while verifying the certificate for `host`.
 * SNI carries names only (RFC 6066 §3); Node verifies against `servername`, or against the
 * dialled address when there is none, which for an IP target is the target itself. (A custom
 * checkServerIdentity would also work but stops the agent from reusing sockets.)
 */
function tlsOptionsFor(host: string): { servername?: string } {
  return parseIpLiteral(host) === undefined ? { servername: host } : {};
}

export type UpstreamFailure = "upstream-unreachable" | "upstream-tls" | "upstream-timeout" | "upstream-reset";

export function classifyUpstreamError(error: unknown): UpstreamFailure {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (code === "ETIMEDOUT" || code === "UPSTREAM_TIMEOUT") return "upstream-timeout";
  // OpenSSL verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...) and Node's.
  if (/^(ERR_TLS|ERR_SSL)|CERT|UNABLE_TO|SELF_SIGNED|VERIFY|HOSTNAME/.test(code)) {
    return "upstream-tls";
  }
  if (code === "ECONNRESET" || code === "EPIPE") return "upstream-reset";
  return "upstream-unreachable";
}

export const ERROR_HEADER = "X-Bottle-Error";
