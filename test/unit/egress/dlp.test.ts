import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPattern } from "../../../src/lib/host-pattern.ts";
import type { Finding, ScanOptions } from "../../../src/lib/scanner/index.ts";
import { fingerprintToken, scan } from "../../../src/lib/scanner/index.ts";
import { createDlp, type HostToken } from "../../../src/sidecars/egress-proxy/dlp.ts";

const TOKEN = ["AKIA", "Q3EGRZ7WJ5XKPL2M"].join(""); // also an aws-access-key-id pattern hit
const GITLAB = ["glpat-", "Xy7Zq2Wm9Rt4Lp8Kv3Nb"].join("");

function hostToken(name: string, value: string, host: string): HostToken {
  const parsed = parseHostPattern(host);
  assert.ok(parsed.ok);
  return { ...fingerprintToken(name, value), host: parsed.pattern };
}

describe("DLP glue", () => {
  const dlp = createDlp({
    scan,
    inlineMaxBytes: 1024,
    knownTokens: [hostToken("AWS", TOKEN, "*.amazonaws.com")],
    extraPatterns: [],
  });
  const head = (host: string, target: string, headers: string[] = []) =>
    dlp.inspectHead({ host, port: 443, method: "GET", target, rawHeaders: headers });

  it("lets a known token to its own host, dropping the pattern finding on the same span", () => {
    const result = head("s3.amazonaws.com", "/", ["Authorization", `AWS ${TOKEN}:sig`]);
    assert.equal(result.block, undefined);
  });

  it("refuses the known token anywhere else, naming the token slot", () => {
    const result = head("evil.test", "/", ["Authorization", `AWS ${TOKEN}:sig`]);
    assert.equal(result.block?.code, "dlp-known-token");
    assert.match(result.block?.rule ?? "", /known-token:AWS in headers/);
  });

  it("still refuses another secret next to an allowed known token", () => {
    const result = head("s3.amazonaws.com", "/", ["Authorization", `AWS ${TOKEN}:sig`, "X-Leak", GITLAB]);
    assert.equal(result.block?.code, "dlp-secret");
  });

  it("finds percent-encoded secrets in the URL and marks the URL tainted", () => {
    const encoded = encodeURIComponent(`key=${GITLAB}`).replace(/-/g, "%2D");
    const result = head("example.org", `/x?q=${encoded}`);
    assert.equal(result.block?.code, "dlp-secret");
    assert.equal(result.urlTainted, true);
    assert.match(result.block?.rule ?? "", /in URL/);
  });

  it("marks the URL tainted even when the token in it is allowed (so the audit log hides it)", () => {
    const result = head("s3.amazonaws.com", `/x?k=${TOKEN}`);
    assert.equal(result.block, undefined);
    assert.equal(result.urlTainted, true);
  });

  it("passes clean requests without taint", () => {
    const result = head("example.org", "/search?q=hello", ["Accept", "*/*"]);
    assert.deepEqual(result, { block: undefined, urlTainted: false });
  });

  it("sends bodies above inlineMaxBytes to the async scanner (the worker pool) and small ones inline", async () => {
    const calls: string[] = [];
    const spying = createDlp({
      scan: (text, options) => {
        calls.push(`inline:${text.length}`);
        return scan(text, options);
      },
      scanAsync: async (text: string, options?: ScanOptions): Promise<Finding[]> => {
        calls.push(`pool:${text.length}`);
        return scan(text, options);
      },
      inlineMaxBytes: 100,
      knownTokens: [],
      extraPatterns: [],
    });
    assert.equal(await spying.inspectBody({ host: "a.test", port: 443, text: "small" }), undefined);
    const block = await spying.inspectBody({
      host: "a.test",
      port: 443,
      text: `${"x".repeat(200)} ${GITLAB}`,
    });
    assert.equal(block?.code, "dlp-secret");
    assert.deepEqual(calls, ["inline:5", "pool:227"]);
  });

  it("fails closed when the scanner throws", async () => {
    const broken = createDlp({
      scan: () => {
        throw new Error("scanner crashed");
      },
      inlineMaxBytes: 10,
      knownTokens: [],
      extraPatterns: [],
    });
    await assert.rejects(broken.inspectBody({ host: "a.test", port: 443, text: "hello" }));
  });
});
