import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { stripVTControlCharacters } from "node:util";
import { runScan, type ScanFormat } from "../../../src/cli/commands/scan.ts";
import { base62, crc32 } from "../../../src/lib/scanner/checksums.ts";

const body = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0";
const GITHUB = `ghp_${body}${base62(crc32(body), 6)}`;
const dir = mkdtempSync(join(tmpdir(), "scan-command-"));
after(() => rmSync(dir, { recursive: true, force: true }));

mkdirSync(join(dir, "src/deep"), { recursive: true });
mkdirSync(join(dir, ".git"));
writeFileSync(join(dir, "src/clean.ts"), "export const answer = 42;\n");
writeFileSync(join(dir, "src/deep/.env"), `PORT=1\nGITHUB_TOKEN=${GITHUB}\n`);
writeFileSync(join(dir, ".git/config"), `token=${GITHUB}\n`);
writeFileSync(join(dir, "src/image.bin"), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(GITHUB)]));
symlinkSync(dir, join(dir, "src/loop"));

async function run(paths: string[], format: ScanFormat = "text", stdin = "") {
  let stdout = "";
  let stderr = "";
  const code = await runScan(paths, format, {
    stdout: { write: (chunk: string) => (stdout += chunk) },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    readStdin: async () => stdin,
  });
  // Colours depend on the terminal and on CI=1 (picocolors); the words must not.
  return { code, stdout: stripVTControlCharacters(stdout), stderr: stripVTControlCharacters(stderr) };
}

test("a directory is scanned recursively, skipping .git, binaries and symlinks; exit 3 on findings", async () => {
  const { code, stdout, stderr } = await run([dir]);
  assert.equal(code, 3);
  assert.match(stderr, /skipped 1 binary, 1 \.git dir, 1 link/);
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /src\/deep\/\.env:2:14 .*github-token/);
  assert.ok(!stdout.includes(GITHUB));
});

test("--format json prints one object per finding with path, line, column and rule", async () => {
  const { code, stdout } = await run([join(dir, "src")], "json");
  assert.equal(code, 3);
  const [record] = stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  assert.deepEqual(
    { path: record.path, line: record.line, column: record.column, rule: record.rule },
    { path: join(dir, "src/deep/.env"), line: 2, column: 14, rule: "github-token" },
  );
});

test("stdin is scanned when no path is given", async () => {
  assert.equal((await run([], "json", `x=${GITHUB}`)).code, 3);
  assert.equal((await run([], "json", "nothing here")).code, 0);
});

test("a clean file exits 0, prints no finding and says what it scanned", async () => {
  assert.deepEqual(await run([join(dir, "src/clean.ts")]), {
    code: 0,
    stdout: "",
    stderr: "scanned 1 file; 0 secrets found\n",
  });
});

test("a path that cannot be read is reported and the rest still scanned: exit 4 when clean, 3 on findings", async () => {
  const withFindings = await run([join(dir, "missing"), join(dir, "src")]);
  assert.equal(withFindings.code, 3);
  assert.match(withFindings.stderr, /missing: no such file or directory/);
  assert.match(withFindings.stderr, /1 could not be scanned/);
  const clean = await run([join(dir, "missing"), join(dir, "src/clean.ts")]);
  assert.equal(clean.code, 4);
});
