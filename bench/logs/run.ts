// `claude-bottle logs <instance> --summary` over a 1,000,000-line egress audit log, side by side
// with jq doing a comparable streaming reduction (requests per host) and `wc -l` (reading only):
// wall time and peak memory (GNU time), each the median of 3 runs. `node bench/logs/run.ts`.
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const LINES = 1_000_000;
const RUNS = 3;
const bin = fileURLToPath(new URL("../../bin/claude-bottle.js", import.meta.url));
const home = mkdtempSync(join(tmpdir(), "claude-bottle-bench-logs-"));
const instance = "bench-0123abcd";
const file = join(home, "logs", instance, "egress", "egress-audit.jsonl");

async function writeLog(): Promise<void> {
  mkdirSync(join(home, "logs", instance, "egress"), { recursive: true });
  const out = createWriteStream(file);
  const start = Date.parse("2026-12-01T00:00:00Z");
  for (let index = 0; index < LINES; index++) {
    const blocked = index % 10 === 0;
    const line = JSON.stringify({
      time: new Date(start + index * 10).toISOString(),
      id: index.toString(16).padStart(10, "0"),
      client: "172.20.0.3",
      kind: "request",
      method: "GET",
      scheme: "https",
      host: `host-${index % 500}.example`,
      port: 443,
      path: `/api/v1/items/${index}?page=[redacted]`,
      decision: blocked ? "block" : "allow",
      rule: blocked ? "no allowlist entry matches" : `host-${index % 500}.example`,
      ...(blocked ? { code: "not-allowlisted" } : {}),
      status: blocked ? 403 : 200,
      bytes_in: 1000 + (index % 5000),
      bytes_out: 200,
      duration_ms: 3.2,
    });
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

/** Seconds and peak RSS (MiB) of a command, by GNU time. */
function measure(command: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; mib: number } {
  const report = join(home, "time.txt");
  execFileSync("/usr/bin/time", ["-f", "%e %M", "-o", report, ...command], {
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const [seconds, kib] = execFileSync("cat", [report], { encoding: "utf8" }).trim().split(/\s+/).map(Number);
  return { seconds: seconds ?? Number.NaN, mib: (kib ?? Number.NaN) / 1024 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function bench(name: string, command: string[], env?: NodeJS.ProcessEnv) {
  const runs = Array.from({ length: RUNS }, () => measure(command, env));
  return { name, seconds: median(runs.map((run) => run.seconds)), mib: median(runs.map((run) => run.mib)) };
}

try {
  await writeLog();
  const size = statSync(file).size;
  const ours = bench("claude-bottle logs --summary", [process.execPath, bin, "logs", instance, "--summary"], {
    ...process.env,
    CLAUDE_BOTTLE_HOME: home,
  });
  const jq = bench("jq streaming count per host", [
    "jq",
    "-n",
    "reduce inputs as $r ({}; .[$r.host] += 1) | length",
    file,
  ]);
  const wc = bench("wc -l (reading only)", ["wc", "-l", file]);
  console.log(`${LINES.toLocaleString("en")} lines, ${(size / 1024 ** 2).toFixed(0)} MiB; median of ${RUNS}`);
  console.log("| tool | seconds | peak MiB | lines/s |");
  console.log("|---|---|---|---|");
  for (const row of [ours, jq, wc])
    console.log(
      `| ${row.name} | ${row.seconds.toFixed(2)} | ${row.mib.toFixed(0)} | ${Math.round(LINES / row.seconds).toLocaleString("en")} |`,
    );
  console.log(
    `ratios: time ours/jq ${(ours.seconds / jq.seconds).toFixed(2)}×, ours/wc ${(ours.seconds / wc.seconds).toFixed(1)}×; peak memory ours/jq ${(ours.mib / jq.mib).toFixed(2)}×`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
