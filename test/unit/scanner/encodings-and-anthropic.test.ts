import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { utf16Runs } from "../../../src/lib/scanner/decoders.ts";
import { scan } from "../../../src/lib/scanner/index.ts";

const AWS = `AKIA${"Q7XW4LHZ2KD5N3PR"}`;
const tail = (seed: string, length: number) => seed.repeat(Math.ceil(length / seed.length)).slice(0, length);

describe("the scanner sees through more encodings", () => {
  it("finds a key hex-encoded, and in UTF-16 (little- and big-endian) text", () => {
    const cases = {
      hex: Buffer.from(`aws_access_key_id=${AWS}`).toString("hex"),
      "HEX upper": Buffer.from(`aws_access_key_id=${AWS}`).toString("hex").toUpperCase(),
      "utf-16le": Buffer.from(`key=${AWS}`, "utf16le").toString("utf8"),
      "utf-16be": Buffer.from(`key=${AWS}`, "utf16le").swap16().toString("utf8"),
    };
    for (const [name, text] of Object.entries(cases))
      assert.deepEqual(
        scan(text).map((finding) => finding.ruleId),
        ["aws-access-key-id"],
        name,
      );
  });

  it("leaves ordinary hex (hashes, ids) and ordinary NULs alone", () => {
    assert.deepEqual(scan(`commit ${"0123456789abcdef".repeat(2)}a1b2c3d4 sha256:${"9f".repeat(32)}`), []);
    assert.deepEqual(utf16Runs("a\u0000\u0000\u0000b"), []);
  });

  it("finds every Anthropic key form: api, admin, OAuth access and refresh, claude.ai session", () => {
    for (const prefix of [
      "sk-ant-api03-",
      "sk-ant-admin01-",
      "sk-ant-oat01-",
      "sk-ant-ort01-",
      "sk-ant-sid01-",
    ]) {
      const key = `${prefix}${tail("Zx9Qw8Er7Ty6Ui5Op4", 86)}-AbCdEfAA`;
      for (const text of [`Cookie: sessionKey=${key}; other=1`, `{"token":"${key}"}`, `x-api-key: ${key}`])
        assert.deepEqual(
          scan(text).map((finding) => finding.ruleId),
          ["anthropic-api-key"],
          `${prefix} in ${text.slice(0, 12)}`,
        );
    }
  });

  it("finds a bearer token after any run of spaces or a tab", () => {
    const token = "xK9mQ2vL7pR4tY8wZ3nB6cF1";
    for (const gap of [" ", "      ", "\t", " \t ", " ".repeat(40)])
      assert.deepEqual(
        scan(`Authorization: Bearer${gap}${token}`).map((finding) => finding.ruleId),
        ["http-bearer-token"],
        JSON.stringify(gap),
      );
  });
});
