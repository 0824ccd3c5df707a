/**
 * Throughput of our scanner against the plain secretlint recommended preset, on the same inputs:
 *   node bench/scanner/run.ts [--mb 4]
 * Inputs: real source files from node_modules (ordinary code) and the labelled corpus (dense in
 * secrets). Each side scans file by file, as `claude-bottle scan` and secretlint's CLI do.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { lintSource } from "@secretlint/core";
import { creator as recommended } from "@secretlint/secretlint-rule-preset-recommend";
import { scan } from "../../src/lib/scanner/index.ts";
import type { Corpus } from "../../test/fixtures/scanner/generate.ts";

const megabytes = Number(process.argv[process.argv.indexOf("--mb") + 1] || 4);
const root = new URL("../../", import.meta.url).pathname;

function collectSources(limitBytes: number): string[] {
  const files: string[] = [];
  let total = 0;
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (total >= limitBytes) return;
      const path = join(dir, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (/\.(?:js|ts|mjs|cjs|json|md|ya?ml)$/.test(name) && stat.size < 512 * 1024) {
        files.push(readFileSync(path, "utf8"));
        total += stat.size;
      }
    }
  };
  for (const dir of [
    "node_modules/commander",
    "node_modules/yaml",
    "node_modules/zod",
    "node_modules/typescript/lib",
  ]) {
    walk(join(root, dir));
  }
  return files;
}

const corpus: Corpus = JSON.parse(readFileSync(join(root, "test/fixtures/scanner/corpus.json"), "utf8"));
const inputs = {
  "ordinary code": collectSources(megabytes * 1024 * 1024),
  "labelled corpus": [...corpus.positives, ...corpus.negatives].map((sample) => sample.text),
};

const config = { rules: [{ id: recommended.meta.id, rule: recommended }] };

async function measure(files: string[], run: (text: string) => unknown): Promise<number> {
  const bytes = files.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  const started = performance.now();
  for (const text of files) await run(text);
  return bytes / 1024 / 1024 / ((performance.now() - started) / 1000);
}

const rows: string[][] = [
  ["input", "MB", "ours MB/s", "secretlint MB/s", "ratio", "ours findings", "secretlint findings"],
];
for (const [name, files] of Object.entries(inputs)) {
  const mb = files.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / 1024 / 1024;
  let ourFindings = 0;
  let theirFindings = 0;
  for (const text of files.slice(0, 50)) scan(text); // warm up the JIT
  const ours = await measure(files, (text) => {
    ourFindings += scan(text).length;
  });
  const theirs = await measure(files, async (text) => {
    const result = await lintSource({
      source: { filePath: "/bench.txt", content: text, contentType: "text" },
      options: { config, maskSecrets: true },
    });
    theirFindings += result.messages.length;
  });
  rows.push([
    name,
    mb.toFixed(2),
    ours.toFixed(1),
    theirs.toFixed(1),
    `${(ours / theirs).toFixed(1)}x`,
    String(ourFindings),
    String(theirFindings),
  ]);
}

const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ")}\n`);
