// The agent on gVisor vs on runc, side by side in one run: launch to ready (`start --detach` until
// `exec -- true` answers) and the egress path from inside the agent (sequential requests through
// the egress proxy, answered by the proxy itself: a refused host, so no upstream is involved), plus
// plain `docker run` on each runtime for scale. Alternating runs so all see the same machine load.
//
// The sidecars run on the engine's default runtime. To measure them on gVisor too, set
// `"default-runtime": "runsc"` in /etc/docker/daemon.json, reload dockerd, and run this again:
// the agent's rows then compare gVisor sidecars with runc ones (docs/isolation.md has the figures).
import { benchCli, docker, median, timed } from "../bottle-cli.ts";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const requests = Number(process.env.BENCH_REQUESTS ?? 200);
if (!docker("info", "--format", "{{json .Runtimes}}").includes('"runsc"')) {
  console.error("this engine has no runsc runtime: run scripts/docker-up.sh as root first");
  process.exit(1);
}
const { cli, remove } = await benchCli("isolation", {
  "bottles/gvisor.md": "isolation: gvisor\n",
  "bottles/runc.md": "isolation: runc\n",
  "agents/on-gvisor.md": "bottle: gvisor\n",
  "agents/on-runc.md": "bottle: runc\n",
});

// In the agent: `requests` sequential requests through HTTP_PROXY, each refused by the proxy (403).
const EGRESS_LATENCY = `
const http = require("node:http");
const proxy = new URL(process.env.HTTP_PROXY);
const times = [];
(async () => {
  for (let i = 0; i < ${requests}; i++) {
    const started = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      http.get({ host: proxy.hostname, port: proxy.port, path: "http://refused.example/x", agent: false }, (res) => {
        res.resume();
        res.on("end", resolve);
      }).on("error", reject);
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ p50: times[Math.floor(times.length / 2)], p99: times[Math.floor(times.length * 0.99)] }));
})();
`;

cli("images", "build", "--quiet");
const image = "claude-bottle/agent:latest";
type Row = { launch: number[]; p50: number[]; p99: number[]; plain: number[] };
const rows: Record<string, Row> = {
  gvisor: { launch: [], p50: [], p99: [], plain: [] },
  runc: { launch: [], p50: [], p99: [], plain: [] },
};
for (let i = 0; i < runs; i++) {
  for (const isolation of ["gvisor", "runc"] as const) {
    const row = rows[isolation]!;
    let instance = "";
    row.launch.push(
      timed(() => {
        instance = cli("start", `on-${isolation}`, "--yes", "--detach");
        cli("exec", instance, "--", "true");
      }),
    );
    const latency = JSON.parse(cli("exec", instance, "--", "node", "-e", EGRESS_LATENCY)) as {
      p50: number;
      p99: number;
    };
    row.p50.push(latency.p50);
    row.p99.push(latency.p99);
    cli("stop", instance);
    let container = "";
    row.plain.push(
      timed(() => {
        container = docker(
          "run",
          "-d",
          ...(isolation === "gvisor" ? ["--runtime", "runsc"] : []),
          "--entrypoint",
          "sleep",
          image,
          "infinity",
        );
        docker("exec", container, "true");
      }),
    );
    docker("rm", "-f", container);
  }
}
remove();

const fmt = (values: number[]) => median(values).toFixed(1);
const g = rows.gvisor!;
const r = rows.runc!;
console.log(
  `| agent on | launch to ready, ms | plain docker run + exec, ms | egress p50, ms | egress p99, ms |`,
);
console.log("|---|---|---|---|---|");
for (const [name, row] of [
  ["gVisor", g],
  ["runc", r],
] as const) {
  console.log(`| ${name} | ${fmt(row.launch)} | ${fmt(row.plain)} | ${fmt(row.p50)} | ${fmt(row.p99)} |`);
}
console.log(
  `\nratio gVisor / runc: launch ${(median(g.launch) / median(r.launch)).toFixed(2)}×, plain run ${(median(g.plain) / median(r.plain)).toFixed(2)}×, egress p50 ${(median(g.p50) / median(r.p50)).toFixed(2)}×, p99 ${(median(g.p99) / median(r.p99)).toFixed(2)}×`,
);
console.log(
  `(${runs} runs each, ${requests} requests per run; sidecars on the engine's default runtime: ${docker("info", "--format", "{{.DefaultRuntime}}")})`,
);
