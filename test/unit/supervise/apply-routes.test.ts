import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse, stringify } from "yaml";
import type { DockerEngine, ExecResult, InMemoryFile } from "../../../src/backend/docker/engine.ts";
import { CRED_PROXY } from "../../../src/plan/cred-proxy-routes.ts";
import { EGRESS } from "../../../src/plan/egress-config.ts";
import { applyRoutes, egressForRoutes, nextRoutesDocument } from "../../../src/supervise/apply-routes.ts";
import { isApplyError } from "../../../src/supervise/live-reload.ts";
import type { RenderedRouteEntry } from "../../../src/supervise/protocol.ts";

const SHA = "a".repeat(64);
const api: RenderedRouteEntry = {
  path: "/api",
  upstream: "https://api.example.com",
  auth_scheme: "Bearer",
  slot: "CRED_PROXY_TOKEN_0",
  roles: ["anthropic-base-url"],
};
const other: RenderedRouteEntry = {
  path: "/other-api",
  upstream: "https://other.example.com:8443/v2",
  auth_scheme: "token",
  slot: "CRED_PROXY_TOKEN_0",
  roles: [],
};
const routesFile = { version: 1, bottle: "b", supervise: true, routes: [api], git_remotes: [] };
const egressConfig = {
  listen: "0.0.0.0:8888",
  allowlist: ["api.example.com"],
  dlp: {
    extra_patterns: [],
    known_tokens: [{ name: "CRED_PROXY_TOKEN_0", sha256: SHA, length: 40, host: "api.example.com" }],
  },
};

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

/**
 * Two sidecars in memory: each has one config file and a reload generation that SIGHUP raises
 * when `accepts` likes the file. cred-proxy can be told to refuse every reload.
 */
function fakeBottle(options: { credProxyAccepts: boolean }) {
  const files = new Map<string, string>([
    [`cb-x-cred-proxy:${CRED_PROXY.routesFile}`, JSON.stringify(routesFile)],
    [`cb-x-egress-proxy:${EGRESS.configFile}`, stringify(egressConfig)],
  ]);
  const generation = new Map([
    ["cb-x-cred-proxy", 1],
    ["cb-x-egress-proxy", 1],
  ]);
  const signals: string[] = [];
  const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: "" });
  const engine: Pick<
    DockerEngine,
    "containerInspect" | "containerExec" | "containerCopyIn" | "containerKill"
  > = {
    containerInspect: async () =>
      ({ running: true }) as Awaited<ReturnType<DockerEngine["containerInspect"]>>,
    containerExec: async (container, command) => {
      if (command[0] === "cat") return ok(files.get(`${container}:${command[1]}`) ?? "");
      return ok(String(generation.get(container)));
    },
    containerCopyIn: async (container, dir, copied: readonly InMemoryFile[]) => {
      for (const file of copied) files.set(`${container}:${dir}/${file.path}`, String(file.content));
    },
    containerKill: async (container) => {
      signals.push(container);
      if (container.endsWith("cred-proxy") && !options.credProxyAccepts) return;
      generation.set(container, (generation.get(container) ?? 0) + 1);
    },
  };
  return { engine: engine as DockerEngine, files, signals };
}

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
