import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { fingerprintToken, scan } from "../../../src/lib/scanner/index.ts";

const VALUE = "tok_3xG9qLmP2vR8sT4wZ7yB1nC6";
const known = [fingerprintToken("ANTHROPIC_SLOT", VALUE)];
const knownHits = (text: string) =>
  scan(text, { knownTokens: known }).filter((f) => f.ruleId.startsWith("known-token:"));

test("a fingerprint is the name, the lowercase hex SHA-256 and the length of the value", () => {
  assert.deepEqual(fingerprintToken("slot", "abc"), {
    name: "slot",
    sha256: createHash("sha256").update("abc").digest("hex"),
    length: 3,
  });
});

const PLACES: Record<string, string> = {
  "a header": `x-api-key: ${VALUE}\r\n`,
  "a bearer header": `Authorization: Bearer ${VALUE}`,
  "a query string": `GET /v1?key=${VALUE}&page=2`,
  "a JSON body": JSON.stringify({ nested: { key: VALUE } }),
  "a base64 wrapper": `payload=${Buffer.from(`token ${VALUE} end`).toString("base64")}`,
  "a URL-encoded wrapper": `q=${encodeURIComponent(`{"k":"${VALUE}"}`)}`,
  "a JSON-escaped string": JSON.stringify(JSON.stringify({ k: VALUE })),
  "a path segment": `/api/${VALUE}/items`,
};

for (const [place, text] of Object.entries(PLACES)) {
  test(`a known token is found in ${place}, reported by its name`, () => {
    const hits = knownHits(text);
    assert.ok(hits.length >= 1, text);
    assert.equal(hits[0]!.ruleId, "known-token:ANTHROPIC_SLOT");
    assert.ok(!hits[0]!.excerpt.includes(VALUE));
  });
}

test("a known token's position is exact in plain text", () => {
  const [hit] = knownHits(`line one\n  token=${VALUE}\n`);
  assert.deepEqual({ line: hit?.line, column: hit?.column }, { line: 2, column: 9 });
});

test("a value that differs in one character is not a known token", () => {
  assert.deepEqual(knownHits(`key=${VALUE.slice(0, -1)}X`), []);
  assert.deepEqual(knownHits(`key=${VALUE}X`), []);
});

test("an uppercase hash in the fingerprint still matches", () => {
  const upper = [{ ...known[0]!, sha256: known[0]!.sha256.toUpperCase() }];
  assert.equal(scan(`k=${VALUE}`, { knownTokens: upper }).length, 1);
});
