import assert from "node:assert/strict";
import { test } from "node:test";
import { base62, crc32, hasValidGitHubChecksum } from "../../../src/lib/scanner/checksums.ts";
import { scan } from "../../../src/lib/scanner/index.ts";

const body = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0";
const GITHUB = `ghp_${body}${base62(crc32(body), 6)}`;

test("a finding names the rule, the 1-based line and column, and a masked excerpt", () => {
  const [finding, ...rest] = scan(`first line\n  export GH=${GITHUB}\n`);
  assert.equal(rest.length, 0);
  assert.deepEqual(finding, {
    ruleId: "github-token",
    description: finding?.description,
    line: 2,
    column: 13,
    excerpt: "ghp_…[40 chars]",
    length: 40,
  });
});

test("an excerpt never contains the secret, for any rule", () => {
  const secrets = [
    GITHUB,
    "AKIAZ7QW3RT5YU9IOP2L",
    "xoxb-123456789012-1234567890123-abcdefABCDEF123456abcdef",
  ];
  for (const secret of secrets) {
    for (const finding of scan(`value: ${secret}`)) assert.ok(!finding.excerpt.includes(secret.slice(4)));
  }
});

test("GitHub tokens with a wrong CRC32 checksum are not findings, not even for the generic rule", () => {
  assert.ok(hasValidGitHubChecksum(GITHUB));
  const broken = `${GITHUB.slice(0, -1)}${GITHUB.endsWith("A") ? "B" : "A"}`;
  assert.deepEqual(scan(`GITHUB_TOKEN = "${broken}"`), []);
});

test("documentation examples and placeholders are not findings", () => {
  for (const text of [
    "AKIAIOSFODNN7EXAMPLE",
    "api_key = your-key-here",
    "password = xxxxxxxxxxxx",
    "token: ${GITHUB_TOKEN}",
    "postgres://user:password@localhost/db",
    "const token = getToken();",
  ]) {
    assert.deepEqual(scan(text), [], text);
  }
});

test("one secret seen by several rules and layers is reported once, by the most specific rule", () => {
  const findings = scan(`GITHUB_TOKEN=${GITHUB}`);
  assert.deepEqual(
    findings.map((f) => f.ruleId),
    ["github-token"],
  );
});

test("a secret inside a URL-encoded layer is reported at its encoded position", () => {
  const text = `x\n/collect?d=${encodeURIComponent(`{"t":"${GITHUB}"}`)}`;
  const [finding] = scan(text);
  assert.equal(finding?.ruleId, "github-token");
  assert.equal(finding?.line, 2);
  assert.equal(
    text
      .split("\n")[1]!
      .slice(finding!.column - 1)
      .startsWith("ghp_"),
    true,
  );
});

test("caller patterns from extraPatterns are reported under their id", () => {
  const findings = scan("internal ref CORP-123456-SECRET here", {
    extraPatterns: [{ id: "corp-secret", pattern: "CORP-\\d{6}-SECRET" }],
  });
  assert.deepEqual(
    findings.map((f) => [f.ruleId, f.column]),
    [["corp-secret", 14]],
  );
});

test("a private key in a JSON string with \\n escapes is found; a public key is not", () => {
  const key = `-----BEGIN PRIVATE KEY-----\n${"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7".repeat(3)}\n-----END PRIVATE KEY-----\n`;
  assert.equal(scan(JSON.stringify({ private_key: key }))[0]?.ruleId, "private-key");
  assert.deepEqual(scan(key.replaceAll("PRIVATE", "PUBLIC")), []);
});

test("an empty input has no findings", () => {
  assert.deepEqual(scan(""), []);
});
