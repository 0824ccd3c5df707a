// A capability approval carries the agent's home from the old container to the new one. Side by
// side, 256 MiB from one container to another: buffered in the approving process (the copy before
// it was streamed: containerCopyOut, then containerCopyInArchive; at 512 MiB it fails outright,
// its output turned into a string too long for V8), streamed through it
// (containerCopyBetween), and the docker CLI piped into itself by a shell (the floor). Wall time
// and the Node process's peak RSS, each the median of 3 runs. `node bench/capability-copy/run.ts`.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CliDockerEngine } from "../../src/backend/docker/engine/cli.ts";

const BYTES = 256 * 1024 * 1024;
const RUNS = 3;
const IMAGE = process.env.CLAUDE_BOTTLE_BASE_IMAGE ?? "claude-bottle/base:bookworm-node24";
const FROM = "cb-bench-copy-from";
const TO = "cb-bench-copy-to";
const self = fileURLToPath(import.meta.url);
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

async function variant(name: string): Promise<void> {
  const engine = new CliDockerEngine();
  const started = performance.now();
  if (name === "buffered") {
    const tar = await engine.containerCopyOut(FROM, "/data");
    await engine.containerCopyInArchive(TO, "/dst", tar);
  } else {
    await engine.containerCopyBetween(FROM, "/data", TO, "/dst", { maxBytes: 1024 ** 3 });
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ seconds, rssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function measure(name: string): { seconds: number; rssMiB: number } {
  docker("exec", TO, "rm", "-rf", "/dst/data");
  if (name === "shell pipe") {
    const started = performance.now();
    execFileSync("sh", ["-c", `docker cp ${FROM}:/data - | docker cp - ${TO}:/dst`]);
    return { seconds: (performance.now() - started) / 1000, rssMiB: Number.NaN };
  }
  const run = spawnSync(process.execPath, [self, name], { encoding: "utf8", maxBuffer: 1024 * 1024 });
  if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
  return JSON.parse(run.stdout) as { seconds: number; rssMiB: number };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

if (process.argv[2] !== undefined) {
  await variant(process.argv[2]);
} else {
  for (const name of [FROM, TO]) spawnSync("docker", ["rm", "-f", name]);
  try {
    for (const name of [FROM, TO])
      docker("run", "-d", "--name", name, "--entrypoint", "sleep", IMAGE, "infinity");
    docker("exec", TO, "mkdir", "-p", "/dst");
    docker("exec", FROM, "sh", "-c", `mkdir /data && head -c ${BYTES} /dev/urandom > /data/payload`);
    const results = new Map<string, { seconds: number; rssMiB: number }>();
    for (const name of ["buffered", "streamed", "shell pipe"]) {
      const runs = Array.from({ length: RUNS }, () => measure(name));
      results.set(name, {
        seconds: median(runs.map((run) => run.seconds)),
        rssMiB: median(runs.map((run) => run.rssMiB)),
      });
    }
    const streamed = results.get("streamed")!;
    const buffered = results.get("buffered")!;
    const pipe = results.get("shell pipe")!;
    console.log(`copy of ${BYTES / 1024 ** 2} MiB between two containers (median of ${RUNS})`);
    for (const [name, result] of results)
      console.log(
        `  ${name.padEnd(11)} ${result.seconds.toFixed(2)} s${Number.isNaN(result.rssMiB) ? "" : `  peak RSS ${result.rssMiB.toFixed(0)} MiB`}`,
      );
    console.log(
      `  streamed / buffered: time ×${(streamed.seconds / buffered.seconds).toFixed(2)}, peak RSS ×${(streamed.rssMiB / buffered.rssMiB).toFixed(3)}`,
    );
    console.log(`  streamed / shell pipe: time ×${(streamed.seconds / pipe.seconds).toFixed(2)}`);
  } finally {
    for (const name of [FROM, TO]) spawnSync("docker", ["rm", "-f", name]);
  }
}
