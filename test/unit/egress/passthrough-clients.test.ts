import assert from "node:assert/strict";
import { test } from "node:test";
import { createPassthroughClients } from "../../../src/sidecars/egress-proxy/passthrough-clients.ts";
import type { LookupAll } from "../../../src/sidecars/egress-proxy/resolve.ts";

/** Docker's DNS, as far as these tests need it: cred-proxy's alias and whatever `answers` says. */
function lookup(answers: Record<string, string[]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string) => {
    calls.push(host);
    const found = answers[host];
    if (found === undefined) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    return found.map((address) => ({ address, family: address.includes(":") ? (6 as const) : (4 as const) }));
  };
  return Object.assign(fn, { calls });
}

test("with no names, every client gets passthrough", async () => {
  const isClient = createPassthroughClients([], { hosts: {}, lookupAll: lookup({}) });
  assert.equal(await isClient("172.18.0.5"), true);
});

test("a named client matches by its resolved address, in IPv4 or IPv4-mapped form; nobody else does", async () => {
  const isClient = createPassthroughClients(["cred-proxy"], {
    hosts: {},
    lookupAll: lookup({ "cred-proxy": ["172.18.0.3"] }),
  });
  assert.equal(await isClient("172.18.0.3"), true);
  assert.equal(await isClient("::ffff:172.18.0.3"), true);
  assert.equal(await isClient("172.18.0.4"), false);
  assert.equal(await isClient("not an address"), false);
});

test("IP literals and hosts overrides need no lookup", async () => {
  const lookupAll = lookup({});
  const isClient = createPassthroughClients(["10.0.0.7", "gateway.test"], {
    hosts: { "gateway.test": "10.0.0.8" },
    lookupAll,
  });
  assert.equal(await isClient("10.0.0.7"), true);
  assert.equal(await isClient("10.0.0.8"), true);
  assert.deepEqual(lookupAll.calls, []);
});

test("a name that does not resolve matches nobody (its connections are inspected)", async () => {
  const isClient = createPassthroughClients(["cred-proxy"], { hosts: {}, lookupAll: lookup({}) });
  assert.equal(await isClient("172.18.0.3"), false);
});

test("resolved addresses are reused for the ttl, then looked up again", async () => {
  let now = 0;
  const answers: Record<string, string[]> = { "cred-proxy": ["172.18.0.3"] };
  const lookupAll = lookup(answers);
  const isClient = createPassthroughClients(["cred-proxy"], {
    hosts: {},
    lookupAll,
    ttlMs: 1_000,
    now: () => now,
  });
  assert.equal(await isClient("172.18.0.3"), true);
  answers["cred-proxy"] = ["172.18.0.9"];
  now = 999;
  assert.equal(await isClient("172.18.0.3"), true);
  now = 1_000;
  assert.equal(await isClient("172.18.0.3"), false);
  assert.equal(await isClient("172.18.0.9"), true);
  assert.equal(lookupAll.calls.length, 2);
});

test("a lookup that failed is asked again by the next connection, not kept for the ttl", async () => {
  const answers: Record<string, string[]> = {};
  const lookupAll = lookup(answers);
  const isClient = createPassthroughClients(["cred-proxy"], { hosts: {}, lookupAll, now: () => 0 });
  assert.equal(await isClient("172.18.0.3"), false);
  answers["cred-proxy"] = ["172.18.0.3"];
  assert.equal(await isClient("172.18.0.3"), true);
});
