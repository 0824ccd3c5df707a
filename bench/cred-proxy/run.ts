import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { TunnelAgent } from "../../src/sidecars/cred-proxy/tunnel-agent.ts";
import { benchPki } from "../pki.ts";
import { BenchProcesses, firstMatch } from "../processes.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const TOKEN = `cbbench_${randomBytes(20).toString("hex")}`;

const processes = new BenchProcesses();
const start = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  processes.start(process.execPath, args, { PATH: process.env.PATH, ...env });

interface Target {
  name: string;
  request: () => Promise<void>;
}

function get(options: http.RequestOptions, client: typeof http.request): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = client(options, (res) => {
      res.resume();
      res.once("end", () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.once("error", reject);
    req.end();
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function closedLoop(target: Target, workers: number, durationMs: number): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const started = performance.now();
        try {
          await target.request();
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { rps: latencies.length / (durationMs / 1000), p50: at(0.5), p99: at(0.99), errors };
}

const dir = await mkdtemp(join(tmpdir(), "cred-proxy-bench-"));
try {
  const { bottleCa, leaf } = await benchPki(dir);

  const upstream = start([join(import.meta.dirname, "../egress/upstream.ts")], {
    BENCH_CERT: leaf.certPem,
    BENCH_KEY: leaf.keyPem,
  });
  const upstreamPort = Number((await firstMatch(upstream.stdout!, /(\d+)\n/))[1]);
  const upstreamHost = `127.0.0.1:${upstreamPort}`;

  await writeFile(
    join(dir, "config.yaml"),
    stringify({
      listen: "127.0.0.1:0",
      allowlist: [upstreamHost],
      tls_interception: { ca_cert: "ca.pem", ca_key: "ca-key.pem" },
      upstream_ca: ["upstream-ca.pem"],
      ssrf: { ip_allowlist: ["127.0.0.1/32"] },
      dlp: {
        known_tokens: [
          {
            name: "CRED_PROXY_TOKEN_0",
            sha256: createHash("sha256").update(TOKEN).digest("hex"),
            length: TOKEN.length,
            host: upstreamHost,
          },
        ],
      },
      audit: { path: "audit.jsonl" },
    }),
  );
  const sidecars = join(import.meta.dirname, "../../src/sidecars/main.ts");
  const egress = start([sidecars, "egress-proxy", "--config", join(dir, "config.yaml")]);
  const egressPort = Number((await firstMatch(egress.stderr!, /listening on [^:]+:(\d+)/))[1]);

  await writeFile(
    join(dir, "routes.json"),
    JSON.stringify({
      version: 1,
      routes: [
        {
          path: "/api",
          upstream: `https://${upstreamHost}`,
          auth_scheme: "Bearer",
          slot: "CRED_PROXY_TOKEN_0",
          roles: [],
        },
      ],
    }),
    { mode: 0o600 },
  );
  const cred = start(
    [
      sidecars,
      "cred-proxy",
      "--routes",
      join(dir, "routes.json"),
      "--listen",
      "127.0.0.1:0",
      "--health",
      "127.0.0.1:0",
      "--ca",
      join(dir, "ca.pem"),
      "--egress-proxy",
      `http://127.0.0.1:${egressPort}`,
    ],
    { CRED_PROXY_TOKEN_0: TOKEN },
  );
  const credPort = Number((await firstMatch(cred.stderr!, /listening on [^:]+:(\d+)/))[1]);

  // The egress-alone client tunnels exactly as cred-proxy does (same agent code), holding the token.
  const tunnel = new TunnelAgent({
    proxy: new URL(`http://127.0.0.1:${egressPort}`),
    extraCa: [bottleCa.certPem],
  });
  tunnel.maxSockets = connections;
  const { request: httpsRequest } = await import("node:https");
  const plain = new http.Agent({ keepAlive: true, maxSockets: connections });
  const targets: Target[] = [
    {
      name: "egress-proxy alone",
      request: () =>
        get(
          {
            agent: tunnel,
            host: "127.0.0.1",
            port: upstreamPort,
            path: "/small",
            headers: { Authorization: `Bearer ${TOKEN}` },
          },
          httpsRequest as typeof http.request,
        ),
    },
    {
      name: "cred-proxy + egress-proxy",
      request: () =>
        get(
          {
            agent: plain,
            host: "127.0.0.1",
            port: credPort,
            path: "/api/small",
            headers: { Authorization: "Bearer placeholder" },
          },
          http.request,
        ),
    },
  ];

  const rows: { name: string; load: Result; serial: Result }[] = [];
  for (const target of targets) {
    process.stderr.write(`bench: ${target.name}...\n`);
    await closedLoop(target, connections, Math.min(1000, (seconds * 1000) / 3)); // warm-up
    const load = await closedLoop(target, connections, seconds * 1000);
    const serial = await closedLoop(target, 1, seconds * 1000);
    rows.push({ name: target.name, load, serial });
  }
  tunnel.destroy();
  plain.destroy();

  const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
  const [alone, both] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const lines = [
    `cred-proxy bench: ${connections} keep-alive connections (and 1 for the sequential phase), ${seconds}s per phase, small HTTPS GETs, loopback, one process per program`,
    "",
    "| path | req/s | p50 ms | p99 ms | sequential p50 ms | sequential p99 ms | errors |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (row) =>
        `| ${row.name} | ${f(row.load.rps)} | ${f(row.load.p50, 2)} | ${f(row.load.p99, 2)} | ${f(row.serial.p50, 2)} | ${f(row.serial.p99, 2)} | ${row.load.errors + row.serial.errors} |`,
    ),
    "",
    "ratios (cred-proxy + egress-proxy vs egress-proxy alone):",
    `  request rate ${f(both.load.rps / alone.load.rps, 2)}x; added latency per request (sequential) p50 ${f(both.serial.p50 - alone.serial.p50, 2)} ms, p99 ${f(both.serial.p99 - alone.serial.p99, 2)} ms; under load p50 ${f(both.load.p50 / alone.load.p50, 2)}x`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  processes.stopAll();
  await rm(dir, { recursive: true, force: true });
}
