// Times `claude-bottle start --dry-run` against `node -e 0` side by side, alternating runs so
// both see the same machine load. Prints medians, p90s and the CLI's added milliseconds.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.env.BENCH_RUNS ?? 20);
const bin = fileURLToPath(new URL("../../bin/claude-bottle.js", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "bench-dry-run-"));
const env = { ...process.env, CLAUDE_BOTTLE_HOME: home, ANTHROPIC_API_KEY: "bench-placeholder" };

// The published package runs the esbuild bundle; a checkout runs the source. Bundle it now so
// the figures are of the current code.
const bundle = fileURLToPath(new URL("../../dist/claude-bottle.js", import.meta.url));
const { bundleCli } = (await import("../../scripts/build.ts")) as {
  bundleCli: (outfile?: string) => Promise<void>;
};
await bundleCli(bundle);
const subjects: Record<string, readonly string[]> = {
  "node -e 0": [process.execPath, "-e", "0"],
  "start --dry-run (source)": [process.execPath, bin, "start", "--dry-run"],
  "start --dry-run --format json (source)": [process.execPath, bin, "start", "--dry-run", "--format", "json"],
  "start --dry-run (bundle)": [process.execPath, bundle, "start", "--dry-run"],
};

function time(argv: readonly string[]): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(argv[0]!, argv.slice(1), { env, stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${argv.join(" ")} exited ${result.status}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const samples = new Map<string, number[]>(Object.keys(subjects).map((name) => [name, []]));
for (let i = 0; i < runs; i++) {
  for (const [name, argv] of Object.entries(subjects)) samples.get(name)!.push(time(argv));
}
rmSync(home, { recursive: true, force: true });

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
const baseline = quantile(samples.get("node -e 0")!, 0.5);
console.log(`| command | median ms | p90 ms | added vs node -e 0 | ratio |`);
console.log(`|---|---|---|---|---|`);
for (const [name, values] of samples) {
  const median = quantile(values, 0.5);
  console.log(
    `| ${name} | ${median.toFixed(1)} | ${quantile(values, 0.9).toFixed(1)} | ${(median - baseline).toFixed(1)} | ${(median / baseline).toFixed(2)}× |`,
  );
}
