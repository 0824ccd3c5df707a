import { canonicalIp } from "../../lib/ip-policy.ts";
import type { LookupAll } from "./resolve.ts";

/**
 * Which clients get passthrough hosts tunnelled. With no names, every client does. Otherwise only
 * connections from the named clients (IP literals, `hosts` overrides, or names the resolver
 * knows, as Docker's DNS knows a sidecar's alias) are tunnelled; anyone else reaching the same
 * host is intercepted and inspected like any allowlisted host. A bottle whose cred-proxy carries
 * the Anthropic route names cred-proxy here: the model's request bodies, which legitimately trip
 * DLP, come from cred-proxy, while the agent's own connections to the API are scanned, so a key
 * that is not the bottle's cannot leave in their headers. A name that does not resolve matches
 * nobody; only successful lookups are reused.
 */
export type PassthroughClients = (clientAddress: string) => Promise<boolean>;

export function createPassthroughClients(
  names: readonly string[],
  options: {
    hosts: Readonly<Record<string, string>>;
    lookupAll: LookupAll;
    /** How long resolved addresses are reused; default 5 s. */
    ttlMs?: number;
    now?: () => number;
  },
): PassthroughClients {
  if (names.length === 0) return async () => true;
  const now = options.now ?? Date.now;
  const ttlMs = options.ttlMs ?? 5_000;
  let cached: { addresses: Promise<Set<string>>; expires: number } | undefined;

  const resolveAll = async (): Promise<Set<string>> => {
    const addresses = new Set<string>();
    let complete = true;
    await Promise.all(
      names.map(async (name) => {
        const literal = canonicalIp(options.hosts[name] ?? name);
        if (literal !== undefined) {
          addresses.add(literal);
          return;
        }
        try {
          for (const { address } of await options.lookupAll(name)) {
            const canonical = canonicalIp(address);
            if (canonical !== undefined) addresses.add(canonical);
          }
        } catch {
          // Not resolvable now: nobody matches this name (its connections are inspected), and
          // the next connection asks again rather than keep a tunnel inspected for the ttl.
          complete = false;
        }
      }),
    );
    if (!complete) cached = undefined;
    return addresses;
  };

  return async (clientAddress) => {
    const client = canonicalIp(clientAddress);
    if (client === undefined) return false;
    if (cached === undefined || cached.expires <= now()) {
      cached = { addresses: resolveAll(), expires: now() + ttlMs };
    }
    return (await cached.addresses).has(client);
  };
}
