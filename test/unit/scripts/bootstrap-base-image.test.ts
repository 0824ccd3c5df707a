import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const SCRIPTS = join(import.meta.dirname, "../../../scripts");

test("the shipped Debian archive keyring is the one its README names", () => {
  const keyring = readFileSync(join(SCRIPTS, "keyrings", "debian-archive-keyring.gpg"));
  const readme = readFileSync(join(SCRIPTS, "keyrings", "README.md"), "utf8");
  const documented = /sha256\s+([0-9a-f]{64})\s+debian-archive-keyring\.gpg/.exec(readme)?.[1];
  assert.equal(createHash("sha256").update(keyring).digest("hex"), documented);
});

// The tampered-mirror integration test proves the behaviour; this keeps the flags from being
// dropped on a machine where that test cannot run (it needs root and debootstrap).
test("bootstrap-base-image.sh always verifies the mirror with a keyring and gpgv", () => {
  const script = readFileSync(join(SCRIPTS, "bootstrap-base-image.sh"), "utf8");
  const code = script
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");
  assert.match(code, /debootstrap --keyring="\$keyring" --force-check-gpg /);
  assert.doesNotMatch(code, /no-check-gpg|--no-check-certificate/);
  assert.match(code, /command -v gpgv >\/dev\/null \|\| die/);
  assert.match(code, /sha256sum "\$keyring"/, "the keyring is an input of the image hash");
});
