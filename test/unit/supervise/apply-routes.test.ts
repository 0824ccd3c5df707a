import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { CRED_PROXY } from "../../../src/contracts/cred-proxy.ts";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";
import type { RenderedRouteEntry } from "../../../src/contracts/supervise.ts";
import { applyRoutes, egressForRoutes, nextRoutesDocument } from "../../../src/supervise/apply-routes.ts";
import { isApplyError } from "../../../src/supervise/live-reload.ts";
import { api, egressConfig, fakeBottle, other, routesFile, SHA } from "./fake-bottle.ts";

describe("nextRoutesDocument", () => {
  it("replaces the route list, longest path first, and keeps the other fields", () => {
    const next = nextRoutesDocument(JSON.stringify(routesFile), [api, other]);
    assert.ok(next.ok);
    assert.deepEqual(next.document, { ...routesFile, routes: [other, api] });
    assert.deepEqual(next.before, [api]);
  });

  it("refuses a slot cred-proxy does not hold, a duplicate path and a bad upstream, naming each", () => {
    const next = nextRoutesDocument(JSON.stringify(routesFile), [
      api,
      { ...other, slot: "CRED_PROXY_TOKEN_7" },
      { ...other, upstream: "http://plain.example.com" },
    ]);
    assert.equal(next.ok, false);
    const problems = next.ok ? [] : next.problems.join("\n");
    assert.match(String(problems), /routes\.\d\.upstream: expected an https:\/\/ URL/);
    assert.match(String(problems), /routes\.2\.path: duplicate route path/);
    assert.match(String(problems), /CRED_PROXY_TOKEN_7 is not held by cred-proxy/);
  });

  it("refuses to build on a routes.json that is not valid", () => {
    assert.equal(nextRoutesDocument("{", [api]).ok, false);
    assert.equal(nextRoutesDocument(JSON.stringify({ version: 2, routes: [] }), [api]).ok, false);
  });
});

describe("egressForRoutes", () => {
  it("adds each new upstream host to the allowlist and lets the route's token go there", () => {
    const next = egressForRoutes(structuredClone(egressConfig), [api, other]);
    assert.deepEqual(next.allowlist, ["api.example.com", "other.example.com:8443"]);
    assert.deepEqual((next.dlp as { known_tokens: unknown[] }).known_tokens, [
      { name: "CRED_PROXY_TOKEN_0", sha256: SHA, length: 40, host: "api.example.com" },
      { name: "CRED_PROXY_TOKEN_0", sha256: SHA, length: 40, host: "other.example.com:8443" },
    ]);
    assert.equal(next.listen, "0.0.0.0:8888");
  });

  it("changes nothing for routes whose hosts are already allowed", () => {
    assert.deepEqual(egressForRoutes(structuredClone(egressConfig), [{ ...api, path: "/v1" }]), egressConfig);
  });

  it("fails when the slot has no known-token entry to copy", () => {
    assert.throws(
      () => egressForRoutes(structuredClone(egressConfig), [{ ...other, slot: "CRED_PROXY_TOKEN_1" }]),
      (error: unknown) =>
        isApplyError(error) && /no known-token entry for CRED_PROXY_TOKEN_1/.test(error.message),
    );
  });
});

describe("applyRoutes", () => {
  const owner = { uid: 1, gid: 1 };

  it("reloads the egress proxy, then cred-proxy, with the new hosts, tokens and routes", async () => {
    const bottle = fakeBottle({ credProxyAccepts: true });
    const applied = await applyRoutes(bottle.engine, "x", [api, other], owner);
    assert.deepEqual(bottle.signals, ["cb-x-egress-proxy", "cb-x-cred-proxy"]);
    assert.deepEqual(applied.allowlistAfter, ["api.example.com", "other.example.com:8443"]);
    const routes = JSON.parse(bottle.files.get(`cb-x-cred-proxy:${CRED_PROXY.routesFile}`) ?? "");
    assert.deepEqual(
      routes.routes.map((route: RenderedRouteEntry) => route.path),
      ["/other-api", "/api"],
    );
    const egress = parse(bottle.files.get(`cb-x-egress-proxy:${EGRESS.configFile}`) ?? "");
    assert.equal(egress.dlp.known_tokens.length, 2);
  });

  it("rolls the egress proxy back when cred-proxy refuses the new routes, so nothing changed", async () => {
    const bottle = fakeBottle({ credProxyAccepts: false });
    const before = new Map(bottle.files);
    await assert.rejects(
      applyRoutes(bottle.engine, "x", [api, other], owner, { reloadTimeoutMs: 300 }),
      (error: unknown) =>
        isApplyError(error) && /cb-x-cred-proxy did not take the new config/.test(error.message),
    );
    assert.deepEqual(bottle.signals, ["cb-x-egress-proxy", "cb-x-cred-proxy", "cb-x-egress-proxy"]);
    assert.equal(
      bottle.files.get(`cb-x-cred-proxy:${CRED_PROXY.routesFile}`),
      before.get(`cb-x-cred-proxy:${CRED_PROXY.routesFile}`),
    );
    assert.deepEqual(
      parse(bottle.files.get(`cb-x-egress-proxy:${EGRESS.configFile}`) ?? ""),
      parse(before.get(`cb-x-egress-proxy:${EGRESS.configFile}`) ?? ""),
    );
  });

  it("touches nothing when the new routes.json is invalid", async () => {
    const bottle = fakeBottle({ credProxyAccepts: true });
    await assert.rejects(
      applyRoutes(bottle.engine, "x", [{ ...other, slot: "CRED_PROXY_TOKEN_9" }], owner),
      /not held by cred-proxy/,
    );
    assert.deepEqual(bottle.signals, []);
  });
});
