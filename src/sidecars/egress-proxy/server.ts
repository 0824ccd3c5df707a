import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { errorMessage } from "../../lib/user-error.ts";
import { handleRequest } from "./forward.ts";
import { handleConnect } from "./tunnel.ts";
import type { EgressProxyOptions, ProxyPolicy, TunnelBinding } from "./types.ts";
import { handleUpgrade } from "./upgrade.ts";
import { createUpstreams, type Upstreams } from "./upstream.ts";

/**
 * The egress proxy server: one HTTP server for absolute-form requests, CONNECT, upgrades, and
 * the decrypted connections of intercepted tunnels (adopted with `emit("connection")`, so the
 * same header/request timeouts and size limits apply inside tunnels). It owns no policy; a
 * reload swaps the policy and its upstream pools at once.
 */
export interface EgressProxy extends AsyncDisposable {
  listen(host: string, port: number): Promise<AddressInfo>;
  reload(policy: ProxyPolicy): void;
  readonly policy: ProxyPolicy;
  readonly openTunnels: number;
  close(): Promise<void>;
}

export function createEgressProxy(options: EgressProxyOptions): EgressProxy {
  const { limits, audit } = options;
  const log = options.log ?? ((message: string) => process.stderr.write(`egress-proxy: ${message}\n`));
  let current: { policy: ProxyPolicy; upstreams: Upstreams } = {
    policy: options.policy,
    upstreams: createUpstreams(options.policy.upstreamTls, { idleMs: limits.idle_timeout_ms }),
  };
  const bindings = new WeakMap<Socket, TunnelBinding>();
  const tunnelSockets = new Set<Socket>();
  let tunnels = 0;

  const server = http.createServer({
    maxHeaderSize: limits.max_header_bytes,
    headersTimeout: limits.headers_timeout_ms,
    requestTimeout: limits.request_timeout_ms,
    keepAliveTimeout: limits.idle_timeout_ms,
    connectionsCheckingInterval: limits.check_interval_ms,
  });
  server.maxConnections = limits.max_connections;
  server.timeout = limits.idle_timeout_ms;

  const failed = (what: string) => (error: unknown) => {
    log(`${what} failed: ${errorMessage(error)}`);
  };

  server.on("request", (req, res) => {
    const { policy, upstreams } = current;
    handleRequest({ policy, upstreams, limits, audit }, req, res, bindings.get(req.socket)).catch(
      (error: unknown) => {
        failed("request")(error);
        res.destroy();
      },
    );
  });

  server.on("connect", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const { policy } = current;
    tunnelSockets.add(socket);
    socket.once("close", () => tunnelSockets.delete(socket));
    handleConnect(
      {
        policy,
        limits,
        audit,
        adopt: (adopted, binding) => {
          bindings.set(adopted, binding);
          server.emit("connection", adopted);
        },
        acquire: () => {
          if (tunnels >= limits.max_tunnels) return false;
          tunnels++;
          return true;
        },
        release: () => {
          tunnels--;
        },
        isTunnelled: (s) => bindings.has(s),
      },
      req,
      socket,
      head,
    ).catch((error: unknown) => {
      failed("CONNECT")(error);
      socket.destroy();
    });
  });

  server.on("upgrade", (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const { policy, upstreams } = current;
    handleUpgrade({ policy, limits, audit, upstreams }, req, socket, head, bindings.get(socket)).catch(
      (error: unknown) => {
        failed("upgrade")(error);
        socket.destroy();
      },
    );
  });

  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === "ECONNRESET") {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const status = tooLarge
      ? "431 Request Header Fields Too Large"
      : timedOut
        ? "408 Request Timeout"
        : "400 Bad Request";
    const body = tooLarge
      ? `request headers over limits.max_header_bytes (${limits.max_header_bytes})\n`
      : timedOut
        ? "request not received in time\n"
        : "malformed HTTP request\n";
    socket.end(
      `HTTP/1.1 ${status}\r\nX-Bottle-Block: ${tooLarge ? "header-too-large" : "bad-request"}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      // A client that keeps sending (slowloris) would hold a half-closed socket: destroy it.
      () => socket.destroy(),
    );
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of tunnelSockets) socket.destroy();
      current.upstreams.destroy();
    });
    return closing;
  };

  return {
    get policy() {
      return current.policy;
    },
    get openTunnels() {
      return tunnels;
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    reload(policy) {
      const old = current;
      current = {
        policy,
        upstreams: createUpstreams(policy.upstreamTls, { idleMs: limits.idle_timeout_ms }),
      };
      old.upstreams.retire();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
