import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  findMatch,
  type HostPattern,
  matchesPattern,
  normalizeHost,
  parseHostPattern,
  splitHostPort,
  wildcardLabels,
} from "../../../src/lib/host-pattern.ts";

function pattern(entry: string): HostPattern {
  const parsed = parseHostPattern(entry);
  assert.ok(parsed.ok, `${entry} should parse`);
  return parsed.pattern;
}

describe("host patterns", () => {
  const cases: [entry: string, host: string, port: number, expected: boolean][] = [
    ["api.github.com", "api.github.com", 443, true],
    ["api.github.com", "api.github.com", 80, true],
    // An entry without a port allows the web's ports only; CONNECT to :22 or :8080 is refused.
    ["api.github.com", "api.github.com", 8080, false],
    ["api.github.com", "api.github.com", 22, false],
    ["*.example.org", "a.example.org", 22, false],
    ["api.github.com", "github.com", 443, false],
    ["api.github.com", "x.api.github.com", 443, false],
    ["*.example.org", "a.example.org", 443, true],
    ["*.example.org", "a.b.example.org", 443, true],
    ["*.example.org", "example.org", 443, false],
    ["*.example.org", "badexample.org", 443, false],
    ["*.example.org", "example.org.evil.com", 443, false],
    ["registry.npmjs.org:443", "registry.npmjs.org", 443, true],
    ["registry.npmjs.org:443", "registry.npmjs.org", 80, false],
    ["*.example.org:8443", "a.example.org", 8443, true],
    ["*.example.org:8443", "a.example.org", 443, false],
    ["10.0.0.5", "10.0.0.5", 80, true],
    ["[2001:db8::1]:443", "2001:db8::1", 443, true],
    ["API.GitHub.COM.", "api.github.com", 443, true],
  ];
  for (const [entry, host, port, expected] of cases) {
    it(`${entry} ${expected ? "matches" : "does not match"} ${host}:${port}`, () => {
      assert.equal(matchesPattern(pattern(entry), host, port), expected);
    });
  }

  for (const [entry, reason] of [
    ["*", /expected|wildcard/],
    ["*.com", /top-level/],
    ["a.*.com", /first label/],
    ["*foo.com", /first label/],
    ["http://x.com", /expected|valid/],
    ["x.com/path", /valid/],
    ["host:99999", /expected/],
    ["", /expected|valid/],
    ["bad_-.com-", /valid/],
    ["*.10.0.0.1", /domain name/],
  ] as const) {
    it(`rejects the entry ${JSON.stringify(entry)}`, () => {
      const parsed = parseHostPattern(entry);
      assert.equal(parsed.ok, false);
      if (!parsed.ok) assert.match(parsed.reason, reason);
    });
  }

  it("normalises names: case, trailing dot, IDN, IPv4 encodings, IPv6 brackets", () => {
    assert.equal(normalizeHost("Example.COM."), "example.com");
    assert.equal(normalizeHost("bücher.example"), "xn--bcher-kva.example");
    assert.equal(normalizeHost("2130706433"), "127.0.0.1");
    assert.equal(normalizeHost("0x7f.1"), "127.0.0.1");
    assert.equal(normalizeHost("[::1]"), "::1");
    assert.equal(normalizeHost("a..b"), undefined);
    assert.equal(normalizeHost("exa mple.com"), undefined);
  });

  it("splits authorities with and without ports", () => {
    assert.deepEqual(splitHostPort("a.com:443"), { host: "a.com", port: 443 });
    assert.deepEqual(splitHostPort("a.com"), { host: "a.com", port: undefined });
    assert.deepEqual(splitHostPort("[::1]:8080"), { host: "[::1]", port: 8080 });
    assert.equal(splitHostPort("::1:80"), undefined);
    assert.equal(splitHostPort("a.com:0"), undefined);
    assert.equal(splitHostPort("a.com:80x"), undefined);
  });

  it("prefers an exact entry over a wildcard, and the longest wildcard", () => {
    const patterns = ["*.example.org", "*.api.example.org", "v1.api.example.org"].map(pattern);
    assert.equal(findMatch(patterns, "v1.api.example.org", 443)?.source, "v1.api.example.org");
    assert.equal(findMatch(patterns, "v2.api.example.org", 443)?.source, "*.api.example.org");
    assert.equal(findMatch(patterns, "www.example.org", 443)?.source, "*.example.org");
    assert.equal(findMatch(patterns, "example.org", 443), undefined);
  });

  it("names the labels a wildcard covers", () => {
    assert.deepEqual(wildcardLabels(pattern("*.example.org"), "a.b.example.org"), ["a", "b"]);
    assert.deepEqual(wildcardLabels(pattern("example.org"), "example.org"), []);
  });

  it("property: a wildcard never matches its apex or a host that only ends with its text", () => {
    const random = (n: number) =>
      Array.from(
        { length: n },
        () => "abcdefghijklmnopqrstuvwxyz0123456789-"[Math.floor(Math.random() * 37)],
      ).join("");
    for (let i = 0; i < 500; i++) {
      const domain = `${random(1 + (i % 10)).replace(/^-|-$/g, "a")}.${["org", "com", "io"][i % 3]}`;
      const parsed = parseHostPattern(`*.${domain}`);
      if (!parsed.ok) continue;
      const label = random(1 + (i % 7)).replace(/^-|-$/g, "b");
      assert.equal(matchesPattern(parsed.pattern, domain, 443), false);
      assert.equal(matchesPattern(parsed.pattern, `${label}${domain}`, 443), false);
      assert.equal(matchesPattern(parsed.pattern, `${label}.${domain}`, 443), true);
      const host = normalizeHost(`${label}.${domain}`);
      assert.equal(host === undefined ? undefined : normalizeHost(host), host, "normalizeHost is idempotent");
    }
  });
});
