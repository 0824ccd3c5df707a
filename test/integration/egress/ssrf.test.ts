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

describe("egress-proxy SSRF protection", () => {
  let pki: Pki;
  let upstream: Upstream;
  let strict: TestProxy;
  let widened: TestProxy;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    const allowlist = [
      "upstream.test",
      "127.0.0.1",
      "2130706433",
      "localhost.test",
      "metadata.test",
      "[::ffff:127.0.0.1]",
    ];
    const hosts = {
      "upstream.test": "127.0.0.1",
      "localhost.test": "127.0.0.1",
      "metadata.test": "169.254.169.254",
    };
    strict = await startTestProxy(pki, { allowlist, hosts, ssrf: { ip_allowlist: [] } });
    widened = await startTestProxy(pki, { allowlist, hosts, ssrf: { ip_allowlist: ["127.0.0.1/32"] } });
  });
  after(async () => {
    await strict.close();
    await widened.close();
    await upstream.close();
  });

  it("refuses a name that resolves to 127.0.0.1", async () => {
    const reply = await plainRequest(strict.port, `http://upstream.test:${upstream.http.port}/`);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "ssrf");
    assert.match(reply.body, /loopback/);
    const tunnel = replyFromConnect(await connect(strict.port, `upstream.test:${upstream.https.port}`));
    assert.equal(tunnel.status, 403);
    assert.equal(tunnel.headers["x-bottle-block"], "ssrf");
  });

  it("allows it when 127.0.0.1 is inside ssrf.ip_allowlist", async () => {
    const reply = await plainRequest(widened.port, `http://upstream.test:${upstream.http.port}/`);
    assert.equal(reply.status, 200);
    const secure = await httpsRequest(
      widened.port,
      `https://upstream.test:${upstream.https.port}/`,
      pki.bottleCa.certPem,
    );
    assert.equal(secure.status, 200);
  });

  it("refuses a link-local (cloud metadata) address even when allowlisted by name", async () => {
    const reply = await plainRequest(widened.port, "http://metadata.test/latest/meta-data/");
    assert.equal(reply.headers["x-bottle-block"], "ssrf");
    assert.match(reply.body, /linkLocal/);
  });

  for (const literal of ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]"]) {
    it(`refuses the IP literal ${literal} (an encoding of 127.0.0.1) on CONNECT`, async () => {
      const reply = replyFromConnect(await connect(strict.port, `${literal}:${upstream.https.port}`));
      assert.equal(reply.status, 403);
      assert.equal(reply.headers["x-bottle-block"], "ssrf");
    });
  }

  it("canonicalises IP literals before the allowlist: 0x7f.0.0.1 is 127.0.0.1", async () => {
    const tunnel = await connect(widened.port, `0x7f.0.0.1:${upstream.https.port}`);
    assert.equal(tunnel.status, 200);
    tunnel.socket.destroy();
  });
});
