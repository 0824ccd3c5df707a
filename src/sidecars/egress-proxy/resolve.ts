import { lookup as dnsLookup } from "node:dns/promises";
import { type Cidr, checkAddress, parseIpLiteral } from "../../lib/ip-policy.ts";

/**
 * SSRF-checked name resolution. Every address a name resolves to must pass the IP policy (public
 * unicast, or inside `ssrf.ip_allowlist`); one bad address refuses the name, so a resolver that
 * answers with a public and a private address cannot steer the dial. The proxy dials the
 * returned address itself (never the name), so the checked address is the dialled address and
 * DNS rebinding has no gap. Results are cached briefly in a bounded map.
 */

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

export type ResolveResult =
  | { ok: true; address: string; family: 4 | 6; source: "literal" | "hosts" | "dns" }
  | { ok: false; kind: "ssrf"; detail: string }
  | { ok: false; kind: "dns"; detail: string };

export type LookupAll = (host: string) => Promise<readonly ResolvedAddress[]>;

export interface Resolver {
  resolve(host: string): Promise<ResolveResult>;
}

export const systemLookupAll: LookupAll = async (host) => {
  const answers = await dnsLookup(host, { all: true, order: "verbatim" });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function judge(
  addresses: readonly ResolvedAddress[],
  allowlist: readonly Cidr[],
  source: "literal" | "hosts" | "dns",
): ResolveResult {
  const first = addresses[0];
  if (first === undefined) return { ok: false, kind: "dns", detail: "no address" };
  for (const { address } of addresses) {
    const verdict = checkAddress(address, allowlist);
    if (!verdict.allowed)
      return { ok: false, kind: "ssrf", detail: `resolves to a ${verdict.range} address` };
  }
  // Dial the canonical form (an IPv4-mapped IPv6 answer is dialled as IPv4).
  const ip = parseIpLiteral(first.address);
  if (ip === undefined) return { ok: false, kind: "dns", detail: "resolver returned a non-address" };
  return { ok: true, address: ip.toString(), family: ip.kind() === "ipv6" ? 6 : 4, source };
}

export function createResolver(options: {
  hosts: Readonly<Record<string, string>>;
  ipAllowlist: readonly Cidr[];
  lookupAll?: LookupAll;
  cacheSize?: number;
  ttlMs?: number;
  now?: () => number;
}): Resolver {
  const lookupAll = options.lookupAll ?? systemLookupAll;
  const cacheSize = options.cacheSize ?? 1000;
  const ttlMs = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  const hosts = new Map(Object.entries(options.hosts).map(([name, ip]) => [name.toLowerCase(), ip]));
  const cache = new Map<string, { result: ResolveResult; expires: number }>();

  return {
    async resolve(host) {
      const literal = parseIpLiteral(host);
      if (literal !== undefined) {
        return judge(
          [{ address: literal.toString(), family: literal.kind() === "ipv6" ? 6 : 4 }],
          options.ipAllowlist,
          "literal",
        );
      }
      const override = hosts.get(host);
      if (override !== undefined)
        return judge([{ address: override, family: 4 }], options.ipAllowlist, "hosts");
      const hit = cache.get(host);
      if (hit !== undefined && hit.expires > now()) return hit.result;
      let result: ResolveResult;
      try {
        result = judge(await lookupAll(host), options.ipAllowlist, "dns");
      } catch (error) {
        result = { ok: false, kind: "dns", detail: (error as NodeJS.ErrnoException).code ?? "lookup failed" };
      }
      if (result.ok || result.kind === "ssrf") {
        cache.delete(host);
        cache.set(host, { result, expires: now() + ttlMs });
        while (cache.size > cacheSize) {
          const oldest = cache.keys().next().value;
          if (oldest === undefined) break;
          cache.delete(oldest);
        }
      }
      return result;
    },
  };
}
