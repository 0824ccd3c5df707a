import type { SecureContext } from "node:tls";
import type { Limits } from "../../contracts/egress-proxy.ts";
import type { BlockContext } from "../../lib/block-response.ts";
import type { AuditRecord } from "../common/audit.ts";
import type { Dlp } from "./dlp.ts";
import type { HostDecision } from "./host-policy.ts";
import type { ResolveResult } from "./resolve.ts";

/**
 * Everything the proxy server is told: it owns no policy. A reload swaps the whole policy at
 * once; each request keeps the policy it started with.
 */
export interface ProxyPolicy {
  decide(host: string, port: number): HostDecision;
  /** SSRF-checked resolution; the proxy dials exactly the address returned. */
  resolve(host: string): Promise<ResolveResult>;
  /** Whether a passthrough host is tunnelled for this client address (else it is inspected). */
  passthroughFor(clientAddress: string): Promise<boolean>;
  readonly dlp: Dlp;
  /** Secure context for a leaf certificate of `host`; undefined when interception is off. */
  readonly mintLeaf: ((host: string) => Promise<SecureContext>) | undefined;
  /**
   * Trust for upstream TLS (system roots plus upstream_ca), built on first use: loading ~300
   * roots takes ~30 ms, which a proxy that has not yet dialled anyone need not spend at start.
   */
  upstreamTls(): SecureContext;
  readonly blockContext: BlockContext;
}

export interface EgressProxyOptions {
  readonly policy: ProxyPolicy;
  readonly limits: Limits;
  readonly audit: (record: AuditRecord) => void;
  readonly log?: ((message: string) => void) | undefined;
}

/** What a connection inside an intercepted CONNECT is bound to. */
export interface TunnelBinding {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly rule: string;
}

export interface Target {
  readonly scheme: "http" | "https";
  readonly host: string;
  readonly port: number;
  /** origin-form path and query sent upstream */
  readonly path: string;
}
