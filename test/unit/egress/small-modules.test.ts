import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { renderBlock, renderBlockRaw } from "../../../src/lib/block-response.ts";
import { createAuditLog, redactPath } from "../../../src/sidecars/common/audit.ts";
import { endToEndHeaders } from "../../../src/sidecars/common/headers.ts";
import { decodeBody } from "../../../src/sidecars/egress-proxy/body-decode.ts";
import { findEncodedLabel } from "../../../src/sidecars/egress-proxy/subdomain-entropy.ts";

describe("block response", () => {
  it("is a 403 with X-Bottle-Block, the rule, and how to ask", () => {
    const r = renderBlock(
      { code: "not-allowlisted", rule: "x.test:443 matches no egress.allowlist entry", target: "x.test:443" },
      { bottle: "dev", supervise: false },
    );
    assert.equal(r.status, 403);
    assert.equal(r.headers["X-Bottle-Block"], "not-allowlisted");
    assert.match(r.body, /rule: x\.test:443 matches no egress\.allowlist entry/);
    assert.match(r.body, /`egress\.allowlist` in ~\/\.claude-bottle\/bottles\/dev\.md/);
    assert.equal(r.headers["Content-Length"], String(Buffer.byteLength(r.body)));
  });
  it("names request_egress when supervise is on", () => {
    const r = renderBlock({ code: "ssrf", rule: "r" }, { supervise: true });
    assert.match(r.body, /request_egress/);
  });
  it("renders the same refusal as raw HTTP for CONNECT", () => {
    const raw = renderBlockRaw({ code: "tunnel-limit", rule: "r" }, { supervise: false });
    assert.match(raw, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(raw, /\r\nX-Bottle-Block: tunnel-limit\r\n/);
  });
});

describe("subdomain entropy", () => {
  const options = { minLength: 16, threshold: 4 };
  for (const label of [
    "www",
    "api",
    "objects-origin",
    "production-eu-west-1",
    "registry-1",
    "codeload",
    "raw",
    "uploads-prod",
    "d1q6f0aelx0por",
    "ci-artifacts-production-eu-west",
    "my-company-staging-builds",
    "cdn-assets-20240601",
    "githubusercontent",
  ]) {
    it(`passes the ordinary label ${label}`, () => {
      assert.equal(findEncodedLabel([label], options), undefined);
    });
  }
  for (const labels of [
    ["4a6f686e3a73336372337421"],
    ["mzxw6ytboi2dsnzrgq3tmnzsgy"],
    ["agvsbg8gd29ybgqgc2vjcmv0"],
    ["ORSXG5DJNZTSA43FMNZXEZLU"],
    ["4a6f686e", "3a733363", "72337421", "deadbeef"],
  ]) {
    it(`refuses ${labels.join(".")}`, () => {
      assert.notEqual(findEncodedLabel(labels, options), undefined);
    });
  }
});

describe("body decoding", () => {
  const text = Buffer.from("hello body");
  for (const [coding, encoded] of [
    ["gzip", gzipSync(text)],
    ["deflate", deflateSync(text)],
    ["deflate", deflateRawSync(text)],
    ["br", brotliCompressSync(text)],
    ["identity", text],
  ] as const) {
    it(`decodes ${coding}`, async () => {
      const result = await decodeBody(encoded, coding, 1024);
      assert.ok(result.ok);
      if (result.ok) assert.equal(result.data.toString(), "hello body");
    });
  }
  it("decodes stacked codings in reverse order", async () => {
    const result = await decodeBody(brotliCompressSync(gzipSync(text)), "gzip, br", 1024);
    assert.ok(result.ok && result.data.toString() === "hello body");
  });
  it("refuses unknown codings and garbage", async () => {
    assert.deepEqual((await decodeBody(text, "compress", 1024)).ok, false);
    const garbage = await decodeBody(text, "gzip", 1024);
    assert.equal(!garbage.ok && garbage.reason, "undecodable");
  });
  it("stops at the output cap (zip bomb)", async () => {
    const result = await decodeBody(gzipSync(Buffer.alloc(1 << 20)), "gzip", 4096);
    assert.equal(!result.ok && result.reason, "too-large");
  });
});

describe("audit", () => {
  it("redacts query values and drops fragments", () => {
    assert.equal(redactPath("/a?x=1&y=two&flag#frag"), "/a?x=[redacted]&y=[redacted]&flag");
    assert.equal(redactPath("/plain"), "/plain");
  });
  it("writes one JSON line per record and drops (and counts) lines past its buffer bound", async () => {
    const sink = new PassThrough({ highWaterMark: 16 });
    const log = createAuditLog({ stream: sink }, 200);
    const record = {
      time: "t",
      id: "0123456789",
      client: "c",
      kind: "request" as const,
      method: "GET",
      scheme: "http" as const,
      host: "h",
      port: 80,
      path: "/",
      decision: "allow" as const,
      rule: "r",
      bytes_in: 0,
      bytes_out: 0,
      duration_ms: 1,
    };
    for (let i = 0; i < 50; i++) log.write(record);
    assert.ok(log.dropped > 0);
    const lines = (sink.read() as Buffer).toString().trim().split("\n");
    assert.ok(lines.every((l) => JSON.parse(l).host === "h"));
  });
});

describe("hop-by-hop headers", () => {
  it("drops hop-by-hop headers, proxy credentials and headers named by Connection", () => {
    const out = endToEndHeaders([
      "Host",
      "a",
      "Connection",
      "keep-alive, X-Secret-Hop",
      "X-Secret-Hop",
      "1",
      "Proxy-Authorization",
      "Basic x",
      "Transfer-Encoding",
      "chunked",
      "Accept",
      "*/*",
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
    ]);
    assert.deepEqual(out, ["Host", "a", "Accept", "*/*", "Set-Cookie", "a=1", "Set-Cookie", "b=2"]);
  });
});
