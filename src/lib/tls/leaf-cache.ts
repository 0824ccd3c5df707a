import { createSecureContext, type SecureContext } from "node:tls";
import type { SigningCa } from "./ca.ts";
import { generateLeafKey, type LeafKey, mintLeaf } from "./leaf.ts";

/**
 * Mints leaf certificates on demand and keeps the most recently used `maxEntries` secure
 * contexts (a bounded LRU: a client cannot grow it by visiting many hosts). Concurrent requests
 * for one host share one signature. A leaf close to expiry is minted again.
 */
export interface LeafCache {
  get(host: string): Promise<SecureContext>;
  readonly size: number;
}

const RENEW_BEFORE_MS = 60 * 60 * 1000;

export function createLeafCache(
  ca: SigningCa,
  options: { maxEntries?: number; now?: () => Date; leafKey?: LeafKey } = {},
): LeafCache {
  const maxEntries = options.maxEntries ?? 1000;
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, { context: SecureContext; notAfter: number }>();
  const pending = new Map<string, Promise<SecureContext>>();
  let leafKey: Promise<LeafKey> | undefined =
    options.leafKey === undefined ? undefined : Promise.resolve(options.leafKey);

  async function mint(host: string): Promise<SecureContext> {
    leafKey ??= generateLeafKey();
    const leaf = await mintLeaf(ca, await leafKey, host, { now: now() });
    const context = createSecureContext({
      cert: `${leaf.certPem.trimEnd()}\n`,
      key: leaf.keyPem,
      minVersion: "TLSv1.2",
    });
    entries.set(host, { context, notAfter: leaf.notAfter.getTime() });
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next().value;
      if (oldest === undefined) break;
      entries.delete(oldest);
    }
    return context;
  }

  return {
    get size() {
      return entries.size;
    },
    get(host: string): Promise<SecureContext> {
      const hit = entries.get(host);
      if (hit !== undefined && hit.notAfter - now().getTime() > RENEW_BEFORE_MS) {
        entries.delete(host); // refresh LRU position
        entries.set(host, hit);
        return Promise.resolve(hit.context);
      }
      const inFlight = pending.get(host);
      if (inFlight !== undefined) return inFlight;
      const promise = mint(host).finally(() => pending.delete(host));
      pending.set(host, promise);
      return promise;
    },
  };
}
