import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { stringify } from "yaml";
import { type BottleCa, generateBottleCa, loadSigningCa } from "../../../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../../src/lib/tls/leaf.ts";
import { shippedSidecarBundle } from "../../helpers/sidecar-bundle.ts";

/** Test PKI: an upstream CA (trusted via upstream_ca) and the bottle CA (trusted by clients). */
export interface Pki {
  upstreamCa: BottleCa;
  bottleCa: BottleCa;
  /** Leaves of the fake upstream by SNI name (upstream.test is the default). */
  upstreamLeaves: Map<string, { cert: string; key: string }>;
}

export async function makePki(): Promise<Pki> {
  const upstreamCa = await generateBottleCa({ commonName: "test upstream CA" });
  const bottleCa = await generateBottleCa({ commonName: "test bottle CA" });
  const signing = await loadSigningCa(upstreamCa.certPem, upstreamCa.keyPem);
  const key = await generateLeafKey();
  const upstreamLeaves = new Map<string, { cert: string; key: string }>();
  for (const host of ["upstream.test", "other.test", "api.other.test", "passthrough.test"]) {
    const leaf = await mintLeaf(signing, key, host);
    upstreamLeaves.set(host, { cert: leaf.certPem, key: leaf.keyPem });
  }
  return { upstreamCa, bottleCa, upstreamLeaves };
}

export interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: string;
}

export interface Upstream {
  http: AddressInfo;
  https: AddressInfo;
  seen: Seen[];
  close(): Promise<void>;
}

/** Fake upstream: echoes requests; /stream streams on demand; /ws accepts upgrades and echoes. */
export async function startUpstream(pki: Pki): Promise<Upstream & { release: () => void }> {
  const seen: Seen[] = [];
  let release: () => void = () => {};
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        socket: `${req.socket.remotePort}`,
      });
      if (req.url === "/stream") {
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        res.write("data: first\n\n");
        release = () => res.end("data: second\n\n");
        return;
      }
      if (req.url?.startsWith("/bytes/")) {
        const size = Number(req.url.slice("/bytes/".length));
        res.writeHead(200, { "Content-Length": String(size), "Content-Type": "application/octet-stream" });
        res.end(Buffer.alloc(size, 0x61));
        return;
      }
      if (req.url === "/spoof") {
        res.writeHead(200, { "X-Bottle-Block": "not-allowlisted", "X-Bottle-Error": "dns" });
        res.end("spoofed");
        return;
      }
      const answer = JSON.stringify({
        method: req.method,
        url: req.url,
        host: req.headers.host,
        length: body.length,
      });
      res.writeHead(200, { "Content-Type": "application/json", "X-Upstream": "yes" });
      res.end(answer);
    });
  };
  const onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    if (head.length > 0) socket.write(head);
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: "", socket: "" });
    socket.pipe(socket);
  };
  const plain = http.createServer(handler);
  const contexts = new Map(
    [...pki.upstreamLeaves].map(([name, leaf]) => [
      name,
      tls.createSecureContext({ cert: leaf.cert, key: leaf.key }),
    ]),
  );
  const fallback = pki.upstreamLeaves.get("upstream.test");
  const secure = https.createServer(
    {
      ...fallback,
      SNICallback: (name, cb) => cb(null, contexts.get(name) ?? contexts.get("upstream.test")),
    },
    handler,
  );
  for (const server of [plain, secure]) server.on("upgrade", onUpgrade);
  plain.listen(0, "127.0.0.1");
  secure.listen(0, "127.0.0.1");
  await Promise.all([once(plain, "listening"), once(secure, "listening")]);
  return {
    http: plain.address() as AddressInfo,
    https: secure.address() as AddressInfo,
    seen,
    release: () => release(),
    async close() {
      for (const server of [plain, secure]) {
        server.closeAllConnections();
        server.close();
      }
    },
  };
}

/** The proxy as the image runs it: the shipped bundle in a child process. */
export interface RunningBundle {
  /** SIGHUP, then the proxy's own verdict from its log. */
  reload(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Everything it logged (stderr). */
  log(): string;
}

export interface TestProxy {
  running: RunningBundle;
  port: number;
  dir: string;
  configPath: string;
  auditLines(): Promise<Record<string, unknown>[]>;
  auditText(): Promise<string>;
  rewrite(config: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** Writes a config (CA files included) into a temp dir and starts the proxy on port 0. */
export async function startTestProxy(pki: Pki, config: Record<string, unknown>): Promise<TestProxy> {
  const dir = await mkdtemp(join(tmpdir(), "egress-test-"));
  await writeFile(join(dir, "ca.pem"), pki.bottleCa.certPem);
  await writeFile(join(dir, "ca-key.pem"), pki.bottleCa.keyPem, { mode: 0o600 });
  await writeFile(join(dir, "upstream-ca.pem"), pki.upstreamCa.certPem);
  const configPath = join(dir, "config.yaml");
  const base = {
    listen: "127.0.0.1:0",
    tls_interception: { ca_cert: "ca.pem", ca_key: "ca-key.pem" },
    upstream_ca: ["upstream-ca.pem"],
    hosts: {
      "upstream.test": "127.0.0.1",
      "other.test": "127.0.0.1",
      "api.other.test": "127.0.0.1",
      "passthrough.test": "127.0.0.1",
    },
    ssrf: { ip_allowlist: ["127.0.0.1/32"] },
    audit: { path: "audit.jsonl" },
    // Test upstreams listen on random loopback ports; the 443/80 default has its own test.
    default_ports: "any",
  };
  const write = (c: Record<string, unknown>) => writeFile(configPath, stringify({ ...base, ...c }));
  await write(config);
  const running = await startBundledProxy(configPath);
  const auditText = async () => {
    // The audit stream is asynchronous and a line lands after the answer: read until the file
    // stops growing (a busy machine may take longer than any fixed pause).
    const read = () => readFile(join(dir, "audit.jsonl"), "utf8").catch(() => "");
    let text = await read();
    for (let waited = 0; waited < 2_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
      const next = await read();
      if (next === text && next !== "") return next;
      text = next;
    }
    return text;
  };
  return {
    running,
    port: running.port,
    dir,
    configPath,
    auditText,
    async auditLines() {
      return (await auditText())
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    rewrite: write,
    async close() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `node <shipped bundle> egress-proxy --config FILE` and waits for its "listening on" line.
 * Reloads go by SIGHUP, as in a bottle; the proxy's log line says whether one took.
 */
async function startBundledProxy(
  configPath: string,
): Promise<RunningBundle & { port: number; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [await shippedSidecarBundle(), "egress-proxy", "--config", configPath],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let log = "";
  const waiters: (() => void)[] = [];
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    log += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = once(child, "exit");
  const waitFor = async <T>(
    find: (text: string) => T | undefined,
    from: number,
    what: string,
  ): Promise<T> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = find(log.slice(from));
      if (found !== undefined) return found;
      if (child.exitCode !== null)
        throw new Error(`egress-proxy exited (${child.exitCode}) before ${what}:\n${log}`);
      if (Date.now() > deadline) throw new Error(`egress-proxy: no ${what} in 20 s:\n${log}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const port = await waitFor(
    (text) => {
      const match = /listening on [\d.]+:(\d+)/.exec(text);
      return match ? Number(match[1]) : undefined;
    },
    0,
    "listening line",
  );
  let reloads = Promise.resolve<{ ok: true } | { ok: false; reason: string }>({ ok: true });
  return {
    port,
    log: () => log,
    reload() {
      reloads = reloads.then(async () => {
        const from = log.length;
        child.kill("SIGHUP");
        return waitFor(
          (text) => {
            const refused = /reload refused, keeping the running policy: ([\s\S]*)/.exec(text);
            if (refused) return { ok: false as const, reason: refused[1] ?? "" };
            return /reloaded policy/.test(text) ? { ok: true as const } : undefined;
          },
          from,
          "reload verdict",
        );
      });
      return reloads;
    },
    async close() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function collect(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () =>
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      }),
    );
    res.on("error", reject);
  });
}

/** Plain absolute-form request through the proxy (from `from`, a loopback address, when given). */
export function plainRequest(
  proxyPort: number,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; from?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: proxyPort,
      ...(options.from === undefined ? {} : { localAddress: options.from }),
      method: options.method ?? "GET",
      path: url,
      headers: { host: new URL(url).host, ...options.headers },
      agent: false,
    });
    req.on("response", (res) => collect(res).then(resolve, reject));
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface ConnectResult {
  status: number;
  head: string;
  socket: net.Socket;
}

/**
 * Sends CONNECT and resolves with the proxy's answer; the socket is the tunnel on 200. `from` is
 * the client's own (loopback) address, when the test needs a particular one.
 */
export function connect(proxyPort: number, authority: string, from?: string): Promise<ConnectResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      port: proxyPort,
      host: "127.0.0.1",
      ...(from === undefined ? {} : { localAddress: from }),
    });
    socket.on("error", reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      const head = buffered.subarray(0, end).toString("latin1");
      const rest = buffered.subarray(end + 4);
      const status = Number(head.split(" ")[1]);
      if (status === 200) {
        socket.pause();
        if (rest.length > 0) socket.unshift(rest);
        resolve({ status, head, socket });
        return;
      }
      // Refusal: read the body to the end.
      const tail: Buffer[] = [rest];
      socket.on("data", (c: Buffer) => tail.push(c));
      socket.on("end", () =>
        resolve({ status, head: `${head}\r\n\r\n${Buffer.concat(tail).toString("utf8")}`, socket }),
      );
    };
    socket.on("data", onData);
  });
}

/** TLS over an established tunnel, trusting `ca`. */
export async function tlsOver(socket: net.Socket, servername: string, ca: string): Promise<tls.TLSSocket> {
  const secure = tls.connect({ socket, servername, ca, ALPNProtocols: ["http/1.1"] });
  secure.once("close", () => socket.destroy());
  await once(secure, "secureConnect");
  return secure;
}

/** One HTTPS request through a fresh CONNECT tunnel (or the given TLS socket). */
export async function httpsRequest(
  proxyPort: number,
  url: string,
  ca: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    socket?: tls.TLSSocket;
    connectAuthority?: string;
  } = {},
): Promise<Reply> {
  const parsed = new URL(url);
  const authority = options.connectAuthority ?? `${parsed.hostname}:${parsed.port || 443}`;
  let socket = options.socket;
  if (socket === undefined) {
    const tunnel = await connect(proxyPort, authority);
    if (tunnel.status !== 200) return replyFromConnect(tunnel);
    socket = await tlsOver(tunnel.socket, parsed.hostname, ca);
  }
  const tlsSocket = socket;
  return new Promise((resolve, reject) => {
    // No agent: the request runs on the tunnel's TLS socket (and may reuse it after).
    const req = http.request({
      host: parsed.hostname,
      port: parsed.port || 443,
      method: options.method ?? "GET",
      path: `${parsed.pathname}${parsed.search}`,
      headers: { connection: "keep-alive", ...options.headers },
      createConnection: () => tlsSocket,
    });
    req.on("response", (res) => collect(res).then(resolve, reject));
    req.on("error", reject);
    req.end(options.body);
  });
}

export function replyFromConnect(result: ConnectResult): Reply {
  const [head = "", body = ""] = result.head.split("\r\n\r\n");
  const headers: http.IncomingHttpHeaders = {};
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: result.status, headers, body };
}
