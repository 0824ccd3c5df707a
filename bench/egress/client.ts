import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as tls from "node:tls";

/**
 * Closed-loop HTTPS load: `connections` workers, each sending requests back to back on its own
 * keep-alive connection, directly or through an HTTP proxy (CONNECT, then TLS to the target).
 */

export interface Route {
  readonly proxyPort?: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly ca: string;
}

function connectTunnel(
  route: Route,
  proxyPort: number,
  cb: (err: Error | null, socket?: net.Socket) => void,
): void {
  const raw = net.connect(proxyPort, "127.0.0.1");
  raw.setNoDelay(true);
  raw.once("error", (error) => cb(error));
  raw.write(
    `CONNECT ${route.targetHost}:${route.targetPort} HTTP/1.1\r\nHost: ${route.targetHost}:${route.targetPort}\r\n\r\n`,
  );
  let buffered = Buffer.alloc(0);
  const onData = (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    const end = buffered.indexOf("\r\n\r\n");
    if (end < 0) return;
    raw.off("data", onData);
    if (!buffered.subarray(0, 12).toString().includes(" 200")) {
      raw.destroy();
      cb(new Error(`CONNECT refused: ${buffered.toString().split("\r\n")[0]}`));
      return;
    }
    const secure = tls.connect({
      socket: raw,
      ca: route.ca,
      checkServerIdentity: (_name, cert) => tls.checkServerIdentity(route.targetHost, cert),
      ...(net.isIP(route.targetHost) ? {} : { servername: route.targetHost }),
    });
    secure.once("secureConnect", () => cb(null, secure));
    secure.once("error", (error) => {
      raw.destroy();
      cb(error);
    });
  };
  raw.on("data", onData);
}

export function agentFor(route: Route, connections: number): http.Agent {
  if (route.proxyPort === undefined) {
    return new https.Agent({ keepAlive: true, maxSockets: connections, ca: route.ca });
  }
  const proxyPort = route.proxyPort;
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  // An agent whose connections are CONNECT tunnels carrying TLS.
  (agent as unknown as { createConnection: unknown }).createConnection = (
    _options: unknown,
    cb: (err: Error | null, socket?: net.Socket) => void,
  ) => {
    connectTunnel(route, proxyPort, cb);
    return undefined;
  };
  return agent;
}

function once(agent: http.Agent, route: Route, method: string, path: string, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = (route.proxyPort === undefined ? https : http).request({
      agent,
      host: route.targetHost,
      port: route.targetPort,
      method,
      path,
      headers:
        body === undefined ? {} : { "Content-Type": "text/plain", "Content-Length": String(body.length) },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(performance.now() - started));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

export async function load(
  route: Route,
  options: { connections: number; seconds: number; warmupSeconds: number; method: string; body?: Buffer },
): Promise<LoadResult> {
  const agent = agentFor(route, options.connections);
  const latencies: number[] = [];
  let errors = 0;
  const warmEnd = performance.now() + options.warmupSeconds * 1000;
  const end = warmEnd + options.seconds * 1000;
  let measuredStart = 0;
  const worker = async () => {
    while (performance.now() < end) {
      try {
        const ms = await once(agent, route, options.method, "/small", options.body);
        const now = performance.now();
        if (now >= warmEnd && now < end) {
          if (measuredStart === 0) measuredStart = now;
          latencies.push(ms);
        }
      } catch (error) {
        errors++;
        if (errors === 1) process.stderr.write(`bench: first error: ${(error as Error).message}\n`);
        if (errors > 1000) throw new Error(`too many errors, last: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    requests: latencies.length,
    seconds: options.seconds,
    rps: latencies.length / options.seconds,
    p50: pick(0.5),
    p99: pick(0.99),
    errors,
  };
}

export async function download(route: Route, bytes: number): Promise<{ mbps: number; bytes: number }> {
  const agent = agentFor(route, 1);
  const started = performance.now();
  const received = await new Promise<number>((resolve, reject) => {
    const req = (route.proxyPort === undefined ? https : http).request({
      agent,
      host: route.targetHost,
      port: route.targetPort,
      path: `/bytes/${bytes}`,
    });
    req.on("response", (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => {
        n += c.length;
      });
      res.on("end", () => resolve(n));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  if (received !== bytes) throw new Error(`download got ${received} of ${bytes} bytes`);
  return { mbps: bytes / (1 << 20) / seconds, bytes };
}
