import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { build } from "esbuild";
import { base62, crc32 } from "../../../src/lib/scanner/checksums.ts";
import { createScanPool, scan } from "../../../src/lib/scanner/index.ts";

const body = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0";
const GITHUB = `ghp_${body}${base62(crc32(body), 6)}`;
const SAMPLE = `const a = 1;\nGITHUB_TOKEN=${GITHUB}\npassword = "Zx9!kQ2#Lm7p"\n`;

test("the pool returns what the synchronous scan returns, known tokens included", async () => {
  const pool = createScanPool({ size: 2 });
  try {
    const options = { knownTokens: [{ name: "gh", sha256: "0".repeat(64), length: 40 }] };
    const results = await Promise.all([pool.scan(SAMPLE, options), pool.scan(SAMPLE), pool.scan("clean")]);
    assert.deepEqual(results, [scan(SAMPLE, options), scan(SAMPLE), []]);
  } finally {
    await pool.close();
  }
});

test("the event loop keeps ticking while the pool scans a large input", async () => {
  const pool = createScanPool({ size: 1 });
  try {
    await pool.scan("warm up the worker");
    const large = `${"const value = compute(input) + 42; // ordinary code\n".repeat(200_000)}${SAMPLE}`;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const started = performance.now();
    const findings = await pool.scan(large);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.equal(findings.length, 2);
    // A blocked loop would tick at most once; a free one ticks about every 2 ms.
    assert.ok(ticks >= Math.min(5, elapsed / 10), `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  } finally {
    await pool.close();
  }
});

test("a closed pool rejects new scans", async () => {
  const pool = createScanPool({ size: 1 });
  await pool.close();
  await assert.rejects(pool.scan("x"), /closed/);
});

test("the pool works from an esbuild bundle and the bundle's main never runs in a worker", async () => {
  const dir = mkdtempSync(join(tmpdir(), "scanner-bundle-"));
  try {
    const entry = join(dir, "entry.ts");
    const scannerIndex = new URL("../../../src/lib/scanner/index.ts", import.meta.url).pathname;
    writeFileSync(
      entry,
      [
        `import { createScanPool } from ${JSON.stringify(scannerIndex)};`,
        `process.stdout.write("main-ran\\n");`,
        "const pool = createScanPool({ size: 2 });",
        `const text = ${JSON.stringify(SAMPLE)};`,
        "const results = await Promise.all([pool.scan(text), pool.scan(text)]);",
        "process.stdout.write(JSON.stringify(results.map((r) => r.map((f) => f.ruleId))) + '\\n');",
        "await pool.close();",
      ].join("\n"),
    );
    const outfile = join(dir, "bundle.mjs");
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile,
      logLevel: "silent",
    });
    const output = execFileSync(process.execPath, [outfile], { encoding: "utf8", timeout: 30_000 });
    assert.deepEqual(output.trim().split("\n"), [
      "main-ran",
      JSON.stringify([
        ["github-token", "generic-secret-assignment"],
        ["github-token", "generic-secret-assignment"],
      ]),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
