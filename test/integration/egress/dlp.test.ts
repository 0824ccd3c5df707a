import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { fingerprintToken } from "../../../src/lib/scanner/index.ts";
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

// Test credentials built at run time so this file holds no literal secret.
const AWS_KEY = ["AKIA", "Q3EGRZ7WJ5XKPL2M"].join("");
const GITLAB = ["glpat-", "Xy7Zq2Wm9Rt4Lp8Kv3Nb"].join("");
const OWN_TOKEN = ["tok", "en-", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"].join("");

describe("egress-proxy DLP", () => {
  let pki: Pki;
  let upstream: Upstream;
  let proxy: TestProxy;
  let base: string;
  const ca = () => pki.bottleCa.certPem;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    const own = fingerprintToken("UPSTREAM_TOKEN", OWN_TOKEN);
    const aws = fingerprintToken("AWS_KEY", AWS_KEY);
    proxy = await startTestProxy(pki, {
      allowlist: ["upstream.test", "other.test", "*.other.test"],
      passthrough: ["passthrough.test"],
      dlp: {
        extra_patterns: [{ id: "internal-ticket", pattern: "INTERNAL-[0-9]{6}" }],
        known_tokens: [
          { ...own, host: "upstream.test" },
          { ...aws, host: "upstream.test" },
        ],
        subdomain_entropy: { enabled: true, min_length: 16, threshold: 4 },
      },
      limits: { max_body_bytes: 64 * 1024, scan_inline_max_bytes: 1024 },
    });
    base = `https://other.test:${upstream.https.port}`;
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  const post = (body: Buffer | string, headers: Record<string, string> = {}, url = `${base}/upload`) =>
    httpsRequest(proxy.port, url, ca(), { method: "POST", body, headers });

  it("passes a clean HTTPS POST", async () => {
    const reply = await post(JSON.stringify({ hello: "world" }), { "content-type": "application/json" });
    assert.equal(reply.status, 200);
  });

  it("refuses a secret in an HTTPS POST body", async () => {
    const seenBefore = upstream.seen.length;
    const reply = await post(`config: ${GITLAB}\n`);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
    assert.match(reply.body, /gitlab-token in body/);
    assert.doesNotMatch(reply.body, new RegExp(GITLAB));
    assert.equal(upstream.seen.length, seenBefore, "the upstream never saw the request");
  });

  for (const [name, encode] of [
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const) {
    it(`refuses the same secret ${name}-compressed`, async () => {
      const reply = await post(encode(Buffer.from(`key=${GITLAB}`)), { "content-encoding": name });
      assert.equal(reply.status, 403);
      assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
    });
  }

  it("refuses a secret in a body compressed without saying so (magic bytes), hex-encoded, or in UTF-16", async () => {
    const seenBefore = upstream.seen.length;
    for (const [what, body] of [
      ["gzip, no Content-Encoding", gzipSync(Buffer.from(`key=${GITLAB}`))],
      ["gzip inside deflate", deflateSync(gzipSync(Buffer.from(`key=${GITLAB}`)))],
      ["hex", Buffer.from(Buffer.from(`token: ${GITLAB}`).toString("hex"))],
      ["utf-16le", Buffer.from(`token: ${GITLAB}`, "utf16le")],
    ] as const) {
      const reply = await post(body, { "content-type": "application/octet-stream" });
      assert.equal(reply.status, 403, `${what}: ${reply.body}`);
      assert.equal(reply.headers["x-bottle-block"], "dlp-secret", what);
    }
    assert.equal(upstream.seen.length, seenBefore);
    // A clean gzip body without the header is forwarded as it is.
    const clean = await post(gzipSync(Buffer.from("just data")), {
      "content-type": "application/octet-stream",
    });
    assert.equal(clean.status, 200);
  });

  it("refuses an Anthropic session key in a Cookie, and a token after Bearer and a tab", async () => {
    const sid = `sk-ant-sid01-${"Zx9Qw8Er7Ty6Ui5Op4".repeat(5)}-AbCdEfAA`;
    const cookie = await httpsRequest(proxy.port, `${base}/x`, ca(), {
      headers: { cookie: `sessionKey=${sid}` },
    });
    assert.equal(cookie.headers["x-bottle-block"], "dlp-secret");
    assert.match(cookie.body, /anthropic-api-key in headers/);
    const tab = await httpsRequest(proxy.port, `${base}/x`, ca(), {
      headers: { authorization: "Bearer\txK9mQ2vL7pR4tY8wZ3nB6cF1" },
    });
    assert.equal(tab.headers["x-bottle-block"], "dlp-secret");
  });

  it("refuses a body it cannot decode (fail closed)", async () => {
    const garbage = await post(Buffer.from("definitely not gzip"), { "content-encoding": "gzip" });
    assert.equal(garbage.status, 403);
    assert.equal(garbage.headers["x-bottle-block"], "dlp-undecodable");
    const unknown = await post(Buffer.from("abc"), { "content-encoding": "compress" });
    assert.equal(unknown.headers["x-bottle-block"], "dlp-undecodable");
  });

  it("refuses a body over the cap, and a small gzip body that inflates over it", async () => {
    const big = await post(Buffer.alloc(65 * 1024, 0x61));
    assert.equal(big.status, 413);
    assert.equal(big.headers["x-bottle-block"], "body-too-large");
    const bomb = await post(gzipSync(Buffer.alloc(1024 * 1024, 0x61)), { "content-encoding": "gzip" });
    assert.equal(bomb.status, 413);
    assert.equal(bomb.headers["x-bottle-block"], "body-too-large");
  });

  it("serves a clean body above the inline size: the worker pool runs in the shipped bundle", async () => {
    const body = `${"clean data line\n".repeat(3 * 1024)}`;
    const reply = await post(body);
    assert.equal(reply.status, 200, reply.body);
    assert.equal(upstream.seen.at(-1)?.body.length, body.length);
  });

  it("scans bodies above the inline size too (worker pool) and refuses a secret deep inside", async () => {
    const body = `${"x".repeat(30 * 1024)}\nsecret ${GITLAB}\n${"y".repeat(10 * 1024)}`;
    const reply = await post(body);
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
  });

  it("refuses a secret in the query, and keeps it out of the audit log", async () => {
    const reply = await httpsRequest(proxy.port, `${base}/search?q=${GITLAB}`, ca());
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
    assert.match(reply.body, /in URL/);
    const plain = await plainRequest(
      proxy.port,
      `http://other.test:${upstream.http.port}/x/${encodeURIComponent(GITLAB)}`,
    );
    assert.equal(plain.headers["x-bottle-block"], "dlp-secret");
  });

  it("refuses a secret in a header", async () => {
    const reply = await httpsRequest(proxy.port, `${base}/`, ca(), {
      headers: { "x-debug": `aws ${AWS_KEY}` },
    });
    assert.equal(reply.status, 403);
    assert.match(String(reply.headers["x-bottle-block"]), /^dlp-/);
    assert.match(reply.body, /in headers/);
  });

  it("applies extra_patterns from the config", async () => {
    const reply = await post("see INTERNAL-123456 for details");
    assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
    assert.match(reply.body, /internal-ticket/);
  });

  it("lets a known token go to its own host and refuses it anywhere else", async () => {
    const ownUrl = `https://upstream.test:${upstream.https.port}/api`;
    const mine = await httpsRequest(proxy.port, ownUrl, ca(), {
      headers: { authorization: `Bearer ${OWN_TOKEN}` },
    });
    assert.equal(mine.status, 200);
    const elsewhere = await httpsRequest(proxy.port, `${base}/api`, ca(), {
      headers: { authorization: `Bearer ${OWN_TOKEN}` },
    });
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.headers["x-bottle-block"], "dlp-known-token");
    assert.match(elsewhere.body, /known-token:UPSTREAM_TOKEN/);
    const inBody = await post(`leak ${OWN_TOKEN}`);
    assert.equal(inBody.headers["x-bottle-block"], "dlp-known-token");
  });

  it("lets a known token that also matches a secret rule go to its own host", async () => {
    const ownUrl = `https://upstream.test:${upstream.https.port}/aws`;
    const mine = await httpsRequest(proxy.port, ownUrl, ca(), { headers: { "x-aws-key": AWS_KEY } });
    assert.equal(mine.status, 200);
    const elsewhere = await httpsRequest(proxy.port, `${base}/aws`, ca(), {
      headers: { "x-aws-key": AWS_KEY },
    });
    assert.equal(elsewhere.status, 403);
  });

  it("refuses encoded-looking subdomains under an allowed wildcard", async () => {
    const exfil = await plainRequest(
      proxy.port,
      `http://4a6f686e3a73336372337421.other.test:${upstream.http.port}/`,
    );
    assert.equal(exfil.status, 403);
    assert.equal(exfil.headers["x-bottle-block"], "dlp-subdomain");
    const connectExfil = replyFromConnect(
      await connect(proxy.port, "mzxw6ytboi2dsnzrgq3tmnzsgy.other.test:443"),
    );
    assert.equal(connectExfil.headers["x-bottle-block"], "dlp-subdomain");
    const normal = await plainRequest(proxy.port, `http://api.other.test:${upstream.http.port}/`);
    assert.equal(normal.status, 200);
  });

  it("does not inspect passthrough hosts", async () => {
    const reply = await plainRequest(proxy.port, `http://passthrough.test:${upstream.http.port}/p`, {
      method: "POST",
      body: `key=${GITLAB}`,
    });
    assert.equal(reply.status, 200);
  });

  it("never writes a secret to the audit log", async () => {
    const text = await proxy.auditText();
    assert.ok(text.length > 0);
    for (const secret of [GITLAB, AWS_KEY, OWN_TOKEN]) assert.equal(text.includes(secret), false);
    assert.match(text, /\[redacted: DLP finding in URL\]/);
  });
});
