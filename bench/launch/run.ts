// Bottle launch vs plain Docker, side by side in one run: `claude-bottle start --yes --detach`
// until `exec -- true` answers, against `docker run -d` + `docker exec true` of the same agent
// image. Alternating runs so both see the same machine load; teardown is not timed.
import { benchCli, docker, median, timed } from "../bottle-cli.ts";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const { cli, remove } = await benchCli("launch", {
  "bottles/bench.md": "egress:\n  allowlist: [example.com]\n",
  "agents/bench.md": "bottle: bench\n",
});

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
remove();

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
