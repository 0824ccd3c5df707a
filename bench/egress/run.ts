import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { shippedSidecarBundle } from "../../test/helpers/sidecar-bundle.ts";
import { benchPki } from "../pki.ts";
import { BenchProcesses, firstMatch } from "../processes.ts";
import { download, type LoadResult, load, type Route } from "./client.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    "download-mib": { type: "string", default: "256" },
    "mitmproxy-download-mib": { type: "string", default: "32" },
    "skip-mitmproxy": { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const downloadBytes = Number(values["download-mib"]) * 1024 * 1024;

const processes = new BenchProcesses();
const start = (command: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  processes.start(command, args, { ...process.env, ...env });

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Row {
  name: string;
  get: LoadResult;
  post: LoadResult;
  mbps: number;
}

async function measure(name: string, route: Route, bytes = downloadBytes): Promise<Row> {
  const warmupSeconds = Math.min(1, seconds / 3);
  process.stderr.write(`bench: ${name}: small GETs...\n`);
  const get = await load(route, { connections, seconds, warmupSeconds, method: "GET" });
  process.stderr.write(`bench: ${name}: 1 KiB POSTs...\n`);
  const body = Buffer.from(
    "lorem ipsum dolor sit amet, consectetur adipiscing elit ".repeat(19).slice(0, 1024),
  );
  const post = await load(route, { connections, seconds, warmupSeconds, method: "POST", body });
  process.stderr.write(`bench: ${name}: ${bytes / (1 << 20)} MiB download...\n`);
  const { mbps } = await download(route, bytes);
  return { name, get, post, mbps };
}

const dir = await mkdtemp(join(tmpdir(), "egress-bench-"));
try {
  const { upstreamCa, bottleCa, leaf } = await benchPki(dir);
  await writeFile(join(dir, "mitmproxy-ca.pem"), `${bottleCa.keyPem}${bottleCa.certPem}`);

  const upstream = start(process.execPath, [join(import.meta.dirname, "upstream.ts")], {
    BENCH_CERT: leaf.certPem,
    BENCH_KEY: leaf.keyPem,
  });
  const upstreamPort = Number((await firstMatch(upstream.stdout!, /(\d+)\n/))[1]);

  await writeFile(
    join(dir, "config.yaml"),
    stringify({
      listen: "127.0.0.1:0",
      allowlist: [`127.0.0.1:${upstreamPort}`],
      tls_interception: { ca_cert: "ca.pem", ca_key: "ca-key.pem" },
      upstream_ca: ["upstream-ca.pem"],
      ssrf: { ip_allowlist: ["127.0.0.1/32"] },
      audit: { path: "audit.jsonl" },
    }),
  );
  // The bundle the sidecar image carries, not the sources: what ships is what is measured.
  const ours = start(process.execPath, [
    await shippedSidecarBundle(),
    "egress-proxy",
    "--config",
    join(dir, "config.yaml"),
  ]);
  const oursPort = Number((await firstMatch(ours.stderr!, /listening on [^:]+:(\d+)/))[1]);

  let mitmPort: number | undefined;
  if (!values["skip-mitmproxy"]) {
    mitmPort = await freePort();
    start("mitmdump", [
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(mitmPort),
      "--set",
      `confdir=${dir}`,
      "--set",
      `ssl_verify_upstream_trusted_ca=${join(dir, "upstream-ca.pem")}`,
      "-q",
    ]);
    await waitForPort(mitmPort, 20_000);
  }

  const target = { targetHost: "127.0.0.1", targetPort: upstreamPort };
  const rows: Row[] = [];
  rows.push(await measure("direct", { ...target, ca: upstreamCa.certPem }));
  rows.push(await measure("egress-proxy", { ...target, ca: bottleCa.certPem, proxyPort: oursPort }));
  if (mitmPort !== undefined) {
    const mitmBytes = Number(values["mitmproxy-download-mib"]) * 1024 * 1024;
    rows.push(
      await measure("mitmproxy 8", { ...target, ca: bottleCa.certPem, proxyPort: mitmPort }, mitmBytes),
    );
  }

  const direct = rows[0] as Row;
  const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
  const lines = [
    `egress bench: ${connections} keep-alive connections, ${seconds}s per phase, ${values["download-mib"]} MiB download (mitmproxy ${values["mitmproxy-download-mib"]} MiB), loopback`,
    "",
    "| target | GET req/s | GET p50 ms | GET p99 ms | added p50/p99 ms | POST 1KiB req/s | POST p99 ms | download MB/s | errors |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const added =
      row === direct ? "-" : `${f(row.get.p50 - direct.get.p50, 2)} / ${f(row.get.p99 - direct.get.p99, 2)}`;
    lines.push(
      `| ${row.name} | ${f(row.get.rps)} | ${f(row.get.p50, 2)} | ${f(row.get.p99, 2)} | ${added} | ${f(row.post.rps)} | ${f(row.post.p99, 2)} | ${f(row.mbps)} | ${row.get.errors + row.post.errors} |`,
    );
  }
  const oursRow = rows.find((r) => r.name === "egress-proxy") as Row;
  const mitm = rows.find((r) => r.name.startsWith("mitmproxy"));
  lines.push("", "ratios:");
  lines.push(
    `  egress-proxy / direct:    GET ${f(oursRow.get.rps / direct.get.rps, 2)}x  POST ${f(oursRow.post.rps / direct.post.rps, 2)}x  download ${f(oursRow.mbps / direct.mbps, 2)}x`,
  );
  if (mitm !== undefined) {
    lines.push(
      `  egress-proxy / mitmproxy: GET ${f(oursRow.get.rps / mitm.get.rps, 1)}x  POST ${f(oursRow.post.rps / mitm.post.rps, 1)}x  download ${f(oursRow.mbps / mitm.mbps, 1)}x`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  processes.stopAll();
  await rm(dir, { recursive: true, force: true });
}
