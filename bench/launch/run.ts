// Bottle launch vs plain Docker, side by side in one run: `claude-bottle start --yes --detach`
// until `exec -- true` answers, against `docker run -d` + `docker exec true` of the same agent
// image. Alternating runs so both see the same machine load; teardown is not timed.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.env.BENCH_RUNS ?? 5);
// What users run: the esbuild bundle of the CLI, built now from the current source.
const bin = fileURLToPath(new URL("../../dist/claude-bottle.js", import.meta.url));
const { bundleCli } = (await import("../../scripts/build.ts")) as {
  bundleCli: (outfile?: string) => Promise<void>;
};
await bundleCli(bin);
const home = mkdtempSync(join(tmpdir(), "bench-launch-"));
mkdirSync(join(home, "bottles"));
mkdirSync(join(home, "agents"));
writeFileSync(join(home, "bottles", "bench.md"), "---\negress:\n  allowlist: [example.com]\n---\n");
writeFileSync(join(home, "agents", "bench.md"), "---\nbottle: bench\n---\n");
// The code cache an installed bin keeps in the claude-bottle home (bin/claude-bottle.js).
const env = {
  ...process.env,
  CLAUDE_BOTTLE_HOME: home,
  NO_COLOR: "1",
  NODE_COMPILE_CACHE: join(home, "cache", "node-compile-cache"),
};
const cli = (...args: string[]) =>
  execFileSync(process.execPath, [bin, ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
const docker = (...args: string[]) =>
  execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

function timed(action: () => void): number {
  const started = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

// Warm-up: images built once, outside the measurement.
cli("images", "build", "--quiet");
const image = "claude-bottle/agent:latest";
const samples = { bottle: [] as number[], plain: [] as number[] };
for (let i = 0; i < runs; i++) {
  let instance = "";
  samples.bottle.push(
    timed(() => {
      instance = cli("start", "bench", "--yes", "--detach");
      cli("exec", instance, "--", "true");
    }),
  );
  cli("stop", instance);
  let container = "";
  samples.plain.push(
    timed(() => {
      container = docker("run", "-d", "--entrypoint", "sleep", image, "infinity");
      docker("exec", container, "true");
    }),
  );
  docker("rm", "-f", container);
}
rmSync(home, { recursive: true, force: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const bottle = median(samples.bottle);
const plain = median(samples.plain);
console.log("| launch to ready | median ms | runs (ms) |");
console.log("|---|---|---|");
console.log(
  `| claude-bottle start --detach + exec true | ${bottle.toFixed(0)} | ${samples.bottle.map((v) => v.toFixed(0)).join(", ")} |`,
);
console.log(
  `| docker run -d + docker exec true | ${plain.toFixed(0)} | ${samples.plain.map((v) => v.toFixed(0)).join(", ")} |`,
);
console.log(`\nratio bottle / plain: ${(bottle / plain).toFixed(2)}×`);
