import * as http from "node:http";
import * as https from "node:https";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";

/**
 * An https.Agent whose connections are CONNECT tunnels through the egress proxy: every upstream
 * call of cred-proxy leaves through it, so the allowlist, DLP and the known-token rule apply to
 * this leg too, and the token crosses the bottle's network only inside TLS. Trust is the system
 * roots plus the per-bottle CA (the proxy re-signs intercepted hosts with it). Tunnels are kept
 * alive and reused per upstream host.
 */

/** The egress proxy answered the CONNECT with a refusal or an error: relayed to the client. */
export class TunnelRefused extends Error {
  readonly code = "E_TUNNEL_REFUSED";
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  constructor(status: number, headers: Readonly<Record<string, string>>, body: Buffer) {
    super(`egress-proxy answered CONNECT with ${status}`);
    this.name = "TunnelRefused";
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

export function isTunnelRefused(error: unknown): error is TunnelRefused {
  return error instanceof TunnelRefused;
}

export interface TunnelAgentOptions {
  /** http://egress-proxy:8888 */
  proxy: URL;
  /** PEM certificates trusted beside the system roots (the per-bottle CA). */
  extraCa: readonly string[];
  connectTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this long. */
  idleMs?: number;
  /** A refusal body longer than this is cut (it is a short text by contract). */
  maxRefusalBytes?: number;
}

type ConnectionCallback = (error: Error | null, stream: Duplex) => void;

export class TunnelAgent extends https.Agent {
  readonly #proxy: URL;
  readonly #context: tls.SecureContext;
  readonly #connectTimeoutMs: number;
  readonly #maxRefusalBytes: number;

  constructor(options: TunnelAgentOptions) {
    super({ keepAlive: true, maxFreeSockets: 64, scheduling: "lifo", timeout: options.idleMs ?? 60_000 });
    this.#proxy = options.proxy;
    this.#context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...options.extraCa] });
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.#maxRefusalBytes = options.maxRefusalBytes ?? 16 * 1024;
  }

  // Node's Agent accepts an asynchronous createConnection: return nothing, call back later.
  override createConnection(options: https.RequestOptions, callback?: ConnectionCallback): undefined {
    if (callback === undefined) throw new Error("TunnelAgent needs Node's asynchronous createConnection");
    const host = options.host ?? "localhost";
    const port = Number(options.port ?? 443);
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    let done = false;
    const finish = (error: Error | null, socket?: Socket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Node's oncreate ignores the stream when there is an error.
      callback(error, socket as Duplex);
    };
    const connect = http.request({
      host: this.#proxy.hostname,
      port: Number(this.#proxy.port || 80),
      method: "CONNECT",
      path: authority,
      headers: { Host: authority },
      agent: false,
    });
    const timer = setTimeout(() => {
      connect.destroy();
      finish(Object.assign(new Error(`CONNECT ${authority} timed out`), { code: "ETIMEDOUT" }));
    }, this.#connectTimeoutMs);
    connect.once("error", (error) => finish(error));
    connect.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        this.#readRefusal(res, socket, head, (error) => finish(error));
        return;
      }
      socket.setNoDelay(true);
      if (head.length > 0) socket.unshift(head);
      const name = options.servername || host;
      const secure = tls.connect({
        socket,
        // The identity is checked against `host`; SNI may not carry an IP literal (RFC 6066 §3).
        host: name,
        ...(isIP(name) ? {} : { servername: name }),
        secureContext: this.#context,
        ALPNProtocols: ["http/1.1"],
      });
      secure.once("secureConnect", () => {
        secure.removeListener("error", onTlsError);
        finish(null, secure);
      });
      const onTlsError = (error: Error) => {
        socket.destroy();
        finish(Object.assign(error, { tls: true }));
      };
      secure.once("error", onTlsError);
    });
    connect.end();
    return undefined;
  }

  #readRefusal(
    res: http.IncomingMessage,
    socket: Socket,
    head: Buffer,
    done: (error: TunnelRefused) => void,
  ): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (typeof value === "string" && /^(x-bottle-|content-type$)/i.test(name)) headers[name] = value;
    }
    const length = Number(res.headers["content-length"] ?? Number.NaN);
    const limit = Math.min(Number.isFinite(length) ? length : this.#maxRefusalBytes, this.#maxRefusalBytes);
    const chunks: Buffer[] = [head];
    let size = head.length;
    const end = () => {
      socket.destroy();
      done(new TunnelRefused(res.statusCode ?? 502, headers, Buffer.concat(chunks).subarray(0, limit)));
    };
    if (size >= limit) {
      end();
      return;
    }
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) end();
    });
    socket.once("end", end);
    socket.once("error", end);
    socket.once("close", end);
  }
}
