import * as tls from "node:tls";
import { type HostPattern, normalizeHost, parseHostPattern } from "../../lib/host-pattern.ts";
import { type Cidr, parseCidr } from "../../lib/ip-policy.ts";
import { createLeafCache } from "../../lib/tls/leaf-cache.ts";
import { type AsyncScanFn, createDlp, type ScanFn } from "./dlp.ts";
import { createHostPolicy } from "./host-policy.ts";
import type { ResolvedConfig } from "./load-config.ts";
import { createPassthroughClients } from "./passthrough-clients.ts";
import { createResolver, type LookupAll, systemLookupAll } from "./resolve.ts";
import type { ProxyPolicy } from "./types.ts";

/** Builds the policy the server runs on from a validated config. Pure apart from TLS contexts. */

export interface Scanner {
  readonly scan: ScanFn;
  readonly scanAsync?: AsyncScanFn | undefined;
}

function patterns(entries: readonly string[]): HostPattern[] {
  return entries.map((entry) => {
    const parsed = parseHostPattern(entry);
    if (!parsed.ok) throw new Error(`validated host pattern failed to parse: ${parsed.reason}`);
    return parsed.pattern;
  });
}

/** System and bundled roots, plus the config's upstream_ca. */
function upstreamTrust(extraPems: readonly string[]): tls.SecureContext {
  const roots = new Set<string>(tls.getCACertificates("default"));
  try {
    for (const pem of tls.getCACertificates("system")) roots.add(pem);
  } catch {
    // No system store readable: the bundled roots remain.
  }
  return tls.createSecureContext({ ca: [...roots, ...extraPems] });
}

export function buildPolicy(
  resolved: ResolvedConfig,
  scanner: Scanner,
  options: { lookupAll?: LookupAll; trust?: tls.SecureContext } = {},
): ProxyPolicy {
  const { config } = resolved;
  const entropy = config.dlp.subdomain_entropy;
  const hostPolicy = createHostPolicy({
    allowlist: patterns(config.allowlist),
    passthrough: patterns(config.passthrough),
    defaultPorts: config.default_ports,
    entropy: entropy.enabled ? { minLength: entropy.min_length, threshold: entropy.threshold } : undefined,
  });
  const hosts: Record<string, string> = {};
  for (const [name, ip] of Object.entries(config.hosts))
    hosts[normalizeHost(name) ?? name.toLowerCase()] = ip;
  const resolver = createResolver({
    hosts,
    ipAllowlist: config.ssrf.ip_allowlist.map((c) => parseCidr(c)).filter((c): c is Cidr => c !== undefined),
    ...(options.lookupAll === undefined ? {} : { lookupAll: options.lookupAll }),
  });
  const dlp = createDlp({
    scan: scanner.scan,
    scanAsync: scanner.scanAsync,
    inlineMaxBytes: config.limits.scan_inline_max_bytes,
    extraPatterns: config.dlp.extra_patterns,
    knownTokens: config.dlp.known_tokens.map((t) => ({ ...t, host: patterns([t.host])[0] as HostPattern })),
    defaultPorts: config.default_ports,
  });
  const leaves =
    resolved.ca === undefined
      ? undefined
      : createLeafCache(resolved.ca, { maxEntries: config.limits.leaf_cache_size });
  let trust = options.trust;
  const passthroughFor = createPassthroughClients(config.passthrough_clients, {
    hosts,
    lookupAll: options.lookupAll ?? systemLookupAll,
  });
  return {
    decide: (host, port) => hostPolicy.decide(host, port),
    passthroughFor,
    resolve: (host) => resolver.resolve(host),
    dlp,
    mintLeaf: leaves === undefined ? undefined : (host) => leaves.get(host),
    upstreamTls: () => (trust ??= upstreamTrust(resolved.upstreamCaPems)),
    blockContext: { bottle: config.bottle, supervise: config.supervise },
  };
}
