import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCidr } from "../../../src/lib/ip-policy.ts";
import { createResolver, type ResolvedAddress } from "../../../src/sidecars/egress-proxy/resolve.ts";

function fakeDns(answers: Record<string, readonly ResolvedAddress[]>) {
  const calls: string[] = [];
  return {
    calls,
    lookupAll: async (host: string) => {
      calls.push(host);
      const answer = answers[host];
      if (answer === undefined) throw Object.assign(new Error("nx"), { code: "ENOTFOUND" });
      return answer;
    },
  };
}

describe("SSRF-checked resolution", () => {
  it("refuses a name when any of its addresses is not public (no steering by answer order)", async () => {
    const dns = fakeDns({
      "mixed.test": [
        { address: "93.184.216.34", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ],
    });
    const resolver = createResolver({ hosts: {}, ipAllowlist: [], lookupAll: dns.lookupAll });
    const result = await resolver.resolve("mixed.test");
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.kind, "ssrf");
  });

  it("returns the checked address to dial, unwrapping IPv4-mapped answers", async () => {
    const dns = fakeDns({ "ok.test": [{ address: "::ffff:93.184.216.34", family: 6 }] });
    const resolver = createResolver({ hosts: {}, ipAllowlist: [], lookupAll: dns.lookupAll });
    assert.deepEqual(await resolver.resolve("ok.test"), {
      ok: true,
      address: "93.184.216.34",
      family: 4,
      source: "dns",
    });
  });

  it("checks hosts overrides and IP literals like any answer", async () => {
    const resolver = createResolver({
      hosts: { "meta.test": "169.254.169.254", "net.test": "172.20.0.5" },
      ipAllowlist: [parseCidr("172.20.0.0/16")].filter((c) => c !== undefined),
      lookupAll: fakeDns({}).lookupAll,
    });
    assert.equal((await resolver.resolve("meta.test")).ok, false);
    assert.equal((await resolver.resolve("net.test")).ok, true);
    assert.equal((await resolver.resolve("2130706433")).ok, false);
    assert.equal((await resolver.resolve("172.20.1.1")).ok, true);
  });

  it("reports resolution failures as dns errors, not blocks", async () => {
    const resolver = createResolver({ hosts: {}, ipAllowlist: [], lookupAll: fakeDns({}).lookupAll });
    assert.deepEqual(await resolver.resolve("nx.test"), { ok: false, kind: "dns", detail: "ENOTFOUND" });
  });

  it("caches answers for the TTL in a bounded map", async () => {
    let now = 0;
    const answers: Record<string, ResolvedAddress[]> = {};
    for (let i = 0; i < 10; i++) answers[`h${i}.test`] = [{ address: `93.184.216.${i}`, family: 4 }];
    const dns = fakeDns(answers);
    const resolver = createResolver({
      hosts: {},
      ipAllowlist: [],
      lookupAll: dns.lookupAll,
      cacheSize: 3,
      ttlMs: 1000,
      now: () => now,
    });
    await resolver.resolve("h0.test");
    await resolver.resolve("h0.test");
    assert.equal(dns.calls.length, 1);
    for (let i = 1; i < 5; i++) await resolver.resolve(`h${i}.test`);
    await resolver.resolve("h0.test");
    assert.equal(dns.calls.filter((h) => h === "h0.test").length, 2, "evicted beyond cacheSize");
    now = 5000;
    await resolver.resolve("h0.test");
    assert.equal(dns.calls.filter((h) => h === "h0.test").length, 3, "expired after the TTL");
  });
});
