import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type RunningCredProxy, startCredProxy } from "../../../src/sidecars/cred-proxy/run.ts";
import {
  makePki,
  type Pki,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from "../../integration/egress/helpers.ts";

/**
 * cred-proxy in-process, in front of the real egress proxy (TLS interception with a test bottle
 * CA, known_tokens) and a fake HTTPS upstream that records what it receives.
 */

const TOKEN = `tok_${randomBytes(20).toString("hex")}`;
const OTHER = `tok_${randomBytes(20).toString("hex")}`;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("cred-proxy in front of the egress proxy", () => {
  let pki: Pki;
  let upstream: Upstream & { release: () => void };
  let egress: TestProxy;
  let dir: string;
  let routesFile: string;
  let cred: RunningCredProxy;
  const logs: string[] = [];
  const routes = (
    entries: {
      path: string;
      slot: string;
      scheme?: string;
      roles?: string[];
      allow?: unknown;
      server_tools?: string[];
    }[],
  ) => ({
    version: 1,
    bottle: "unit",
    supervise: false,
    routes: entries.map((entry) => ({
      path: entry.path,
      upstream: `https://upstream.test:${upstream.https.port}`,
      auth_scheme: entry.scheme ?? "Bearer",
      slot: entry.slot,
      roles: entry.roles ?? [],
      ...(entry.allow === undefined ? {} : { allow: entry.allow }),
      ...(entry.server_tools === undefined ? {} : { server_tools: entry.server_tools }),
    })),
    git_remotes: [
      { name: "app", host: "upstream.test", path: "acme/app.git", gate_url: "git://git-gate/app.git" },
    ],
  });

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
    egress = await startTestProxy(pki, {
      allowlist: ["upstream.test"],
      dlp: {
        known_tokens: [
          { name: "CRED_PROXY_TOKEN_0", sha256: sha256(TOKEN), length: TOKEN.length, host: "upstream.test" },
          { name: "CRED_PROXY_TOKEN_1", sha256: sha256(OTHER), length: OTHER.length, host: "upstream.test" },
        ],
      },
    });
    dir = await mkdtemp(join(tmpdir(), "cred-proxy-test-"));
    routesFile = join(dir, "routes.json");
    await writeFile(join(dir, "ca.pem"), pki.bottleCa.certPem);
    await writeFile(routesFile, JSON.stringify(routes([{ path: "/api", slot: "CRED_PROXY_TOKEN_0" }])), {
      mode: 0o600,
    });
    cred = await startCredProxy({
      routesFile,
      listen: "127.0.0.1:0",
      health: "127.0.0.1:0",
      egressProxy: `http://127.0.0.1:${egress.port}`,
      caFile: join(dir, "ca.pem"),
      tokens: { CRED_PROXY_TOKEN_0: TOKEN, CRED_PROXY_TOKEN_1: OTHER },
      log: (line) => logs.push(line),
    });
  });

  after(async () => {
    await cred?.close();
    await egress?.close();
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("injects the route's token and replaces a client-supplied Authorization and x-api-key", async () => {
    const reply = await request(cred.address.port, "/api/v1/things?x=1", {
      headers: { Authorization: "Bearer agent-made-this-up", "x-api-key": "also-made-up" },
    });
    assert.equal(reply.status, 200, reply.body);
    const seen = upstream.seen.at(-1);
    assert.equal(seen?.url, "/v1/things?x=1");
    assert.equal(seen?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen?.headers["x-api-key"], undefined);
    assert.equal(seen?.headers.host, `upstream.test:${upstream.https.port}`);
    assert.equal(JSON.parse(reply.body).host, `upstream.test:${upstream.https.port}`);
  });

  it("streams a response without waiting for its end (SSE)", async () => {
    const first = await new Promise<{ chunk: string; res: http.IncomingMessage }>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: cred.address.port, path: "/api/stream", agent: false });
      req.on("response", (res) => {
        res.setEncoding("utf8");
        res.once("data", (chunk: string) => resolve({ chunk, res }));
      });
      req.on("error", reject);
    });
    assert.equal(first.chunk, "data: first\n\n");
    assert.equal(first.res.headers["content-type"], "text/event-stream");
    let rest = "";
    first.res.on("data", (chunk: string) => {
      rest += chunk;
    });
    const ended = new Promise((resolve) => first.res.on("end", resolve));
    upstream.release();
    await ended;
    assert.equal(rest, "data: second\n\n");
  });

  it("refuses a git push over HTTPS with 403 naming the git-gate remote, and lets a fetch through", async () => {
    const count = upstream.seen.length;
    for (const path of [
      "/api/acme/app.git/info/refs?service=git-receive-pack",
      "/api/acme/app.git/git-receive-pack",
    ]) {
      const reply = await request(cred.address.port, path, {
        method: path.endsWith("pack") ? "POST" : "GET",
      });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers["x-bottle-block"], "git-push-https");
      assert.match(reply.body, /claude-bottle cred-proxy refused/);
      assert.match(reply.body, /git:\/\/git-gate\/app\.git \(remote app\)/);
    }
    assert.equal(upstream.seen.length, count, "a refused push must not reach the upstream");
    const fetch = await request(cred.address.port, "/api/acme/app.git/info/refs?service=git-upload-pack");
    assert.equal(fetch.status, 200);
    assert.equal(upstream.seen.at(-1)?.url, "/acme/app.git/info/refs?service=git-upload-pack");
  });

  it("answers a path no route owns with 404 no-route listing the routes", async () => {
    const reply = await request(cred.address.port, "/apix/y");
    assert.equal(reply.status, 404);
    assert.equal(reply.headers["x-bottle-block"], "no-route");
    assert.match(reply.body, /routes: \/api/);
  });

  it("refuses dot segments that would climb out of the route", async () => {
    const reply = await request(cred.address.port, "/api/%2e%2e/etc");
    assert.equal(reply.status, 400);
    assert.equal(reply.headers["x-bottle-block"], "bad-request");
  });

  it("relays the egress proxy's refusal when the upstream is not allowlisted", async () => {
    await writeFile(
      routesFile,
      JSON.stringify({
        ...routes([{ path: "/api", slot: "CRED_PROXY_TOKEN_0" }]),
        routes: [
          ...routes([{ path: "/api", slot: "CRED_PROXY_TOKEN_0" }]).routes,
          {
            path: "/other",
            upstream: "https://other.test",
            auth_scheme: "token",
            slot: "CRED_PROXY_TOKEN_1",
            roles: [],
          },
        ],
      }),
    );
    assert.deepEqual(await cred.reload(), { ok: true, routes: 2 });
    const reply = await request(cred.address.port, "/other/x");
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "not-allowlisted");
    assert.match(reply.body, /egress-proxy refused other\.test:443/);
  });

  it("forwards only what a route's rules allow: a GitHub route cannot write around git-gate", async () => {
    await writeFile(
      routesFile,
      JSON.stringify(
        routes([
          { path: "/gh", slot: "CRED_PROXY_TOKEN_0", roles: ["git-insteadof"] },
          {
            path: "/issues",
            slot: "CRED_PROXY_TOKEN_0",
            allow: [{ method: "POST", path: "/repos/*/*/issues" }],
          },
        ]),
      ),
    );
    assert.equal((await cred.reload()).ok, true);
    const count = upstream.seen.length;
    for (const [method, path, code] of [
      ["PUT", "/gh/repos/acme/app/contents/leak.txt", "route-rule"],
      ["POST", "/gh/gists", "route-rule"],
      ["POST", "/gh/repos/acme/app/hooks", "route-rule"],
      ["TRACE", "/gh/", "route-rule"],
      ["POST", "/gh/acme/app.git/git-receive-pack;x", "git-push-https"],
      ["POST", "/gh/acme/app.git/git-receive-pack%23x", "bad-request"],
      ["GET", "/issues/repos/acme/app", "route-rule"],
    ] as const) {
      const withBody = method === "POST" || method === "PUT";
      const reply = await request(cred.address.port, path, withBody ? { method, body: "x" } : { method });
      assert.equal(reply.headers["x-bottle-block"], code, `${method} ${path}: ${reply.status} ${reply.body}`);
    }
    const raw = await request(cred.address.port, "/gh/acme/app.git/git-receive-pack#x", {
      method: "POST",
      body: "x",
    });
    assert.equal(raw.status, 400, "a raw fragment in the request target");
    assert.equal(upstream.seen.length, count, "nothing refused reached the upstream");
    assert.match(
      (await request(cred.address.port, "/gh/repos/acme/app/contents/leak.txt", { method: "PUT", body: "x" }))
        .body,
      /PUT \/gh\/repos\/acme\/app\/contents\/leak\.txt is not in the route's rules \(GET \/\*\*, HEAD \/\*\*, POST \/\*\*\/git-upload-pack\)/,
    );
    // Positive controls: reads, a fetch, and what a route declares.
    assert.equal((await request(cred.address.port, "/gh/repos/acme/app")).status, 200);
    assert.equal(
      (await request(cred.address.port, "/gh/acme/app.git/git-upload-pack", { method: "POST", body: "0000" }))
        .status,
      200,
    );
    assert.equal(
      (await request(cred.address.port, "/issues/repos/acme/app/issues", { method: "POST", body: "{}" }))
        .status,
      200,
    );
  });

  it("refuses a Messages request that would make Anthropic's servers reach out, in the API's error shape", async () => {
    await writeFile(
      routesFile,
      JSON.stringify(
        routes([
          {
            path: "/anthropic",
            slot: "CRED_PROXY_TOKEN_0",
            scheme: "x-api-key",
            roles: ["anthropic-base-url"],
          },
        ]),
      ),
    );
    assert.equal((await cred.reload()).ok, true);
    const count = upstream.seen.length;
    const connector = JSON.stringify({
      model: "m",
      max_tokens: 1,
      messages: [{ role: "user", content: "hi" }],
      mcp_servers: [
        { type: "url", url: "https://attacker.example/mcp", name: "x", authorization_token: "t" },
      ],
    });
    const refused = await request(cred.address.port, "/anthropic/v1/messages?beta=true", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: connector,
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers["x-bottle-block"], "server-tool");
    const error = JSON.parse(refused.body) as { type: string; error: { type: string; message: string } };
    assert.equal(error.type, "error");
    assert.match(error.error.message, /`mcp_servers`/);
    assert.equal(upstream.seen.length, count);
    const ordinary = JSON.stringify({
      model: "m",
      max_tokens: 1,
      messages: [{ role: "user", content: "hi" }],
    });
    const passed = await request(cred.address.port, "/anthropic/v1/messages?beta=true", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: ordinary,
    });
    assert.equal(passed.status, 200, passed.body);
    assert.equal(upstream.seen.at(-1)?.body, ordinary, "the body forwarded unchanged");
  });

  it("reloads routes on demand and keeps the old ones when the new file is bad", async () => {
    await writeFile(
      routesFile,
      JSON.stringify(routes([{ path: "/v2", slot: "CRED_PROXY_TOKEN_1", scheme: "x-api-key" }])),
    );
    assert.deepEqual(await cred.reload(), { ok: true, routes: 1 });
    assert.equal((await request(cred.address.port, "/api/x")).status, 404);
    assert.equal((await request(cred.address.port, "/v2/x")).status, 200);
    assert.equal(upstream.seen.at(-1)?.headers["x-api-key"], OTHER);
    assert.equal(upstream.seen.at(-1)?.headers.authorization, undefined);

    for (const bad of [
      "{ not json",
      JSON.stringify(routes([{ path: "/v3", slot: "CRED_PROXY_TOKEN_9" }])),
      JSON.stringify({
        ...routes([]),
        routes: [{ path: "v3", upstream: "http://x", auth_scheme: "Basic", slot: "X" }],
      }),
    ]) {
      await writeFile(routesFile, bad);
      const result = await cred.reload();
      assert.equal(result.ok, false);
      assert.equal((await request(cred.address.port, "/v2/x")).status, 200, "the old routes stay in force");
    }
    assert.ok(logs.some((line) => line.includes("CRED_PROXY_TOKEN_9 was not given to this container")));
    assert.ok(!logs.join("\n").includes(TOKEN), "no token in any log line");
  });

  it("reports health with the generation and the routes in force", async () => {
    const health = await request(cred.healthAddress?.port ?? 0, "/healthz");
    assert.equal(health.status, 200);
    const body = JSON.parse(health.body) as { status: string; generation: number; routes: string[] };
    assert.equal(body.status, "ok");
    assert.deepEqual(body.routes, ["/v2"]);
    assert.ok(body.generation >= 3);
  });
});
