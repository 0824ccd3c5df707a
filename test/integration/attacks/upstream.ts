/**
 * What an attack aims at, served by the test on the host (reached from a bottle's egress proxy
 * through `egress.hosts: host-gateway`, never by the agent itself): HTTP and HTTPS servers that
 * record every request with its body, and raw TCP and UDP listeners that record every contact.
 * An attack is refused when the refusal is specific AND nothing reached these.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { WebSocketServer } from "ws";
import { generateBottleCa, loadSigningCa } from "../../../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../../src/lib/tls/leaf.ts";

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface AttackTargets {
  httpPort: number;
  httpsPort: number;
  tcpPort: number;
  udpPort: number;
  /** The upstream CA certificate file, for `egress.upstream_ca`. */
  caFile: string;
  /** HTTP(S) requests received. */
  requests: Received[];
  /** WebSocket messages received (on /ws of the HTTPS server). */
  websocketMessages: string[];
  /** Raw TCP connections and UDP datagrams received (their source address). */
  contacts: string[];
  /** Whether any received request's URL contains `marker`. */
  saw(marker: string): boolean;
  close(): Promise<void>;
}

/** Names the HTTPS server has a certificate for (SNI). */
const NAMES = ["upstream.test", "docs.wild.test"];

export async function startTargets(): Promise<AttackTargets> {
  const dir = mkdtempSync(join(tmpdir(), "attack-targets-"));
  const ca = await generateBottleCa({ commonName: "attack test upstream CA" });
  const signing = await loadSigningCa(ca.certPem, ca.keyPem);
  const key = await generateLeafKey();
  const contexts = new Map<string, ReturnType<typeof createSecureContext>>();
  for (const name of NAMES) {
    const leaf = await mintLeaf(signing, key, name);
    contexts.set(name, createSecureContext({ cert: leaf.certPem, key: leaf.keyPem }));
  }
  const first = await mintLeaf(signing, key, NAMES[0]!);
  const caFile = join(dir, "upstream-ca.pem");
  writeFileSync(caFile, ca.certPem);

  const requests: Received[] = [];
  const contacts: string[] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end(`upstream got ${req.method} ${req.url}\n`);
    });
  };
  const plain = http.createServer(handler);
  const secure = https.createServer(
    { cert: first.certPem, key: first.keyPem, SNICallback: (name, cb) => cb(null, contexts.get(name)) },
    handler,
  );
  const websocketMessages: string[] = [];
  const websockets = new WebSocketServer({ server: secure, path: "/ws" });
  websockets.on("connection", (socket) => {
    socket.on("message", (data: Buffer) => {
      websocketMessages.push(data.toString());
      socket.send(`upstream got ${data.length} bytes`);
    });
  });
  const tcp: TcpServer = createTcpServer((socket) => {
    contacts.push(`tcp ${socket.remoteAddress}`);
    socket.on("error", () => {});
    socket.end("raw service\n");
  });
  const udp: UdpSocket = createSocket("udp4");
  udp.on("message", (_message, remote) => contacts.push(`udp ${remote.address}`));
  const listen = (server: http.Server | TcpServer) =>
    new Promise<number>((resolve) =>
      server.listen(0, "0.0.0.0", () => resolve((server.address() as AddressInfo).port)),
    );
  const [httpPort, httpsPort, tcpPort] = await Promise.all([listen(plain), listen(secure), listen(tcp)]);
  const udpPort = await new Promise<number>((resolve) =>
    udp.bind(0, "0.0.0.0", () => resolve(udp.address().port)),
  );
  return {
    httpPort,
    httpsPort,
    tcpPort,
    udpPort,
    caFile,
    requests,
    websocketMessages,
    contacts,
    saw: (marker) => requests.some((request) => request.url.includes(marker)),
    async close() {
      websockets.close();
      for (const server of [plain, secure]) server.closeAllConnections();
      await Promise.all(
        [plain, secure, tcp].map((server) => new Promise((resolve) => server.close(resolve))),
      );
      await new Promise<void>((resolve) => udp.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The answer the agent got, from `curl -i` output (the last response when a CONNECT came first). */
export interface Answer {
  status: number;
  /** X-Bottle-Block, or "" */
  block: string;
  /** X-Bottle-Error, or "" */
  error: string;
  body: string;
}

export function parseCurl(stdout: string): Answer {
  const start = stdout.lastIndexOf("HTTP/1.1 ");
  if (start === -1) return { status: 0, block: "", error: "", body: stdout };
  const text = stdout.slice(start);
  const split = text.indexOf("\r\n\r\n");
  const head = split === -1 ? text : text.slice(0, split);
  const header = (name: string) => new RegExp(`^${name}: *(.*?)\\r?$`, "im").exec(head)?.[1] ?? "";
  return {
    status: Number(head.slice(9, 12)),
    block: header("X-Bottle-Block"),
    error: header("X-Bottle-Error"),
    body: split === -1 ? "" : text.slice(split + 4),
  };
}
