import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  connect,
  httpsRequest,
  makePki,
  type Pki,
  plainRequest,
  replyFromConnect,
  startTestProxy,
  startUpstream,
  type TestProxy,
  type Upstream,
} from "./helpers.ts";

describe("egress-proxy allowlist and refusals", () => {
  let pki: Pki;
  let upstream: Upstream;
  let proxy: TestProxy;
  let supervised: TestProxy;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    proxy = await startTestProxy(pki, { bottle: "demo", allowlist: ["upstream.test", "*.other.test"] });
    supervised = await startTestProxy(pki, { bottle: "demo", supervise: true, allowlist: [] });
  });
  after(async () => {
    await proxy.close();
    await supervised.close();
    await upstream.close();
  });

  it("forwards an absolute-form HTTP request to an allowlisted host", async () => {
    const reply = await plainRequest(proxy.port, `http://upstream.test:${upstream.http.port}/hello`);
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body).url, "/hello");
    assert.equal(reply.headers["x-bottle-block"], undefined);
  });

  it("strips X-Bottle-Block and X-Bottle-Error from upstream responses (only the proxy refuses)", async () => {
    const reply = await plainRequest(proxy.port, `http://upstream.test:${upstream.http.port}/spoof`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, "spoofed");
    assert.equal(reply.headers["x-bottle-block"], undefined);
    assert.equal(reply.headers["x-bottle-error"], undefined);
  });

  it("refuses a host that is not allowlisted with 403, X-Bottle-Block and the manifest key", async () => {
    const reply = await plainRequest(proxy.port, `http://elsewhere.test:${upstream.http.port}/`);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "not-allowlisted");
    assert.match(reply.body, /egress\.allowlist/);
    assert.match(reply.body, /~\/\.claude-bottle\/bottles\/demo\.md/);
    assert.match(reply.body, /rule: elsewhere\.test:\d+ matches no egress\.allowlist entry/);
  });

  it("refuses a CONNECT to a host that is not allowlisted on the CONNECT itself", async () => {
    const reply = replyFromConnect(await connect(proxy.port, "elsewhere.test:443"));
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "not-allowlisted");
    assert.match(reply.body, /egress\.allowlist/);
  });

  it("points at the supervise tool request_egress when supervise is on", async () => {
    const reply = await plainRequest(supervised.port, `http://upstream.test:${upstream.http.port}/`);
    assert.equal(reply.status, 403);
    assert.match(reply.body, /request_egress/);
  });

  it("lets *.domain reach subdomains but not the apex", async () => {
    const sub = await plainRequest(proxy.port, `http://api.other.test:${upstream.http.port}/`);
    assert.equal(sub.status, 200);
    const apex = await plainRequest(proxy.port, `http://other.test:${upstream.http.port}/`);
    assert.equal(apex.status, 403);
    assert.equal(apex.headers["x-bottle-block"], "not-allowlisted");
  });

  it("honours a port on an allowlist entry", async () => {
    const pinned = await startTestProxy(pki, { allowlist: [`upstream.test:${upstream.https.port}`] });
    try {
      const ok = await httpsRequest(
        pinned.port,
        `https://upstream.test:${upstream.https.port}/`,
        pki.bottleCa.certPem,
      );
      assert.equal(ok.status, 200);
      const other = await plainRequest(pinned.port, `http://upstream.test:${upstream.http.port}/`);
      assert.equal(other.status, 403);
    } finally {
      await pinned.close();
    }
  });

  it("an entry without a port allows only 443 and 80: another port of an allowed host is refused", async () => {
    const strict = await startTestProxy(pki, { allowlist: ["upstream.test"], default_ports: [443, 80] });
    try {
      const plain = await plainRequest(strict.port, `http://upstream.test:${upstream.http.port}/`);
      assert.equal(plain.status, 403);
      assert.equal(plain.headers["x-bottle-block"], "not-allowlisted");
      assert.match(
        plain.body,
        new RegExp(`rule: upstream\\.test:${upstream.http.port} matches no egress\\.allowlist entry`),
      );
      const tunnel = replyFromConnect(await connect(strict.port, `upstream.test:${upstream.https.port}`));
      assert.equal(tunnel.status, 403);
      assert.equal(tunnel.headers["x-bottle-block"], "not-allowlisted");
    } finally {
      await strict.close();
    }
  });

  it("refuses origin-form requests on the proxy listener as bad-request", async () => {
    const reply = await new Promise<{ status: number; block: string | undefined }>((resolve, reject) => {
      import("node:http").then(({ request }) => {
        const req = request({ host: "127.0.0.1", port: proxy.port, path: "/", agent: false });
        req.on("response", (res) => {
          res.resume();
          resolve({
            status: res.statusCode ?? 0,
            block: res.headers["x-bottle-block"] as string | undefined,
          });
        });
        req.on("error", reject);
        req.end();
      }, reject);
    });
    assert.equal(reply.status, 400);
    assert.equal(reply.block, "bad-request");
  });

  it("writes one audit line per request with decision, rule and redacted query values", async () => {
    await plainRequest(proxy.port, `http://upstream.test:${upstream.http.port}/audited?user=alice&flag`);
    const lines = await proxy.auditLines();
    const line = lines.find((l) => typeof l.path === "string" && l.path.startsWith("/audited"));
    assert.ok(line);
    assert.equal(line.path, "/audited?user=[redacted]&flag");
    assert.equal(line.decision, "allow");
    assert.equal(line.rule, "upstream.test");
    assert.equal(line.method, "GET");
    assert.equal(line.host, "upstream.test");
    assert.equal(typeof line.bytes_out, "number");
    assert.ok((line.bytes_out as number) > 0);
    assert.equal(typeof line.duration_ms, "number");
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
    assert.doesNotMatch(await proxy.auditText(), /alice/);
    const blocked = lines.find((l) => l.host === "elsewhere.test");
    assert.equal(blocked?.decision, "block");
    assert.equal(blocked?.code, "not-allowlisted");
  });
});
