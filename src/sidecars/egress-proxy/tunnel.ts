import type { IncomingMessage } from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Limits } from "../../contracts/egress-proxy.ts";
import { normalizeHost, splitHostPort } from "../../lib/host-pattern.ts";
import { type AuditRecord, startAuditRecord } from "../common/audit.ts";
import { rawExchange, rawUpstreamError } from "./respond.ts";
import type { ProxyPolicy, TunnelBinding } from "./types.ts";
import { classifyUpstreamError } from "./upstream.ts";

/**
 * CONNECT. Refusals are answered on the CONNECT itself (before any tunnel). A passthrough host,
 * or any allowed host when interception is off, gets a blind TCP tunnel to the checked address.
 * Otherwise the proxy answers 200, terminates the client's TLS with a leaf for the CONNECT host
 * (an SNI naming another host fails the handshake), and hands the decrypted connection to the
 * HTTP server, bound to the CONNECT authority. A client that speaks plain HTTP inside the tunnel
 * is handled the same way, without TLS.
 */

export interface TunnelContext {
  readonly policy: ProxyPolicy;
  readonly limits: Limits;
  readonly audit: (record: AuditRecord) => void;
  /** Registers an intercepted connection with the HTTP server. */
  readonly adopt: (socket: net.Socket, binding: TunnelBinding) => void;
  /** Tunnel accounting: false when the limit is reached. */
  readonly acquire: () => boolean;
  readonly release: () => void;
  readonly isTunnelled: (socket: net.Socket) => boolean;
}

const ESTABLISHED = "HTTP/1.1 200 Connection Established\r\n\r\n";
const TLS_HANDSHAKE = 0x16;

export async function handleConnect(
  ctx: TunnelContext,
  req: IncomingMessage,
  socket: net.Socket,
  head: Buffer,
): Promise<void> {
  const started = performance.now();
  const { policy } = ctx;
  const record = startAuditRecord({
    client: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
    kind: "tunnel",
    method: "CONNECT",
    scheme: "tunnel",
    host: "",
    port: 0,
  });
  const { finish, refuse } = rawExchange(socket, record, started, ctx.audit, policy.blockContext);
  socket.on("error", () => socket.destroy());

  const authority = splitHostPort(req.url ?? "");
  const host = authority === undefined ? undefined : normalizeHost(authority.host);
  if (
    authority === undefined ||
    authority.port === undefined ||
    host === undefined ||
    ctx.isTunnelled(socket)
  ) {
    record.path = "[unparsed]";
    refuse({ code: "bad-request", rule: "CONNECT needs host:port" });
    return;
  }
  const port = authority.port;
  Object.assign(record, { host, port });
  const decision = policy.decide(host, port);
  if (decision.kind === "block") {
    refuse(decision.block);
    return;
  }
  record.rule = decision.rule;
  if (!ctx.acquire()) {
    refuse({ code: "tunnel-limit", rule: `limits.max_tunnels (${ctx.limits.max_tunnels}) reached` });
    return;
  }
  socket.once("close", ctx.release);
  const address = await policy.resolve(host);
  if (!address.ok) {
    if (address.kind === "ssrf") {
      refuse({
        code: "ssrf",
        rule: `${host} ${address.detail}, outside ssrf.ip_allowlist`,
        target: `${host}:${port}`,
      });
    } else {
      record.decision = "error";
      record.code = "dns";
      socket.end(rawUpstreamError("dns", address.detail));
      finish();
    }
    return;
  }
  socket.setTimeout(ctx.limits.idle_timeout_ms, () => socket.destroy());
  socket.once("close", () => {
    record.bytes_in = socket.bytesRead;
    record.bytes_out = socket.bytesWritten;
    finish();
  });

  const mintLeaf = policy.mintLeaf;
  // A passthrough host is tunnelled only for the clients passthrough_clients names, when it does.
  const passthrough =
    decision.mode === "passthrough" && (await policy.passthroughFor(socket.remoteAddress ?? ""));
  if (passthrough || mintLeaf === undefined) {
    record.rule = passthrough ? `passthrough ${decision.rule}` : `${decision.rule} (not intercepted)`;
    blindTunnel(ctx, socket, head, address.address, port, record);
    return;
  }
  record.rule =
    decision.mode === "passthrough"
      ? `intercept ${decision.rule} (passthrough only for passthrough_clients)`
      : `intercept ${decision.rule}`;
  const leaf = mintLeaf(host);
  leaf.catch(() => undefined);
  socket.write(ESTABLISHED);
  if (head.length > 0) socket.unshift(head);
  const handshakeTimer = setTimeout(() => socket.destroy(), ctx.limits.handshake_timeout_ms);
  // The HTTP server keeps sockets half-open; a client that leaves before TLS is gone for good.
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(handshakeTimer));
  socket.once("data", (first: Buffer) => {
    socket.pause();
    socket.unshift(first);
    if (first[0] !== TLS_HANDSHAKE) {
      clearTimeout(handshakeTimer);
      ctx.adopt(socket, { host, port, tls: false, rule: decision.rule });
      socket.resume();
      return;
    }
    leaf.then(
      (secureContext) => {
        const tlsSocket = new tls.TLSSocket(socket, {
          isServer: true,
          secureContext,
          ALPNProtocols: ["http/1.1"],
          SNICallback: (servername, cb) => {
            if (normalizeHost(servername) === host) cb(null, secureContext);
            else cb(new Error("SNI does not match the CONNECT host"));
          },
        });
        tlsSocket.on("error", () => {
          tlsSocket.destroy();
          socket.destroy();
        });
        // Closing the decrypted side (timeouts, server close) must release the TCP socket too.
        tlsSocket.once("close", () => socket.destroy());
        // A client gone before its handshake finished: nothing will read this tunnel again, and it
        // would hold a tunnel slot until the handshake timeout.
        const leftDuringHandshake = () => tlsSocket.destroy();
        tlsSocket.once("end", leftDuringHandshake);
        tlsSocket.once("secure", () => {
          tlsSocket.off("end", leftDuringHandshake);
          clearTimeout(handshakeTimer);
          ctx.adopt(tlsSocket, { host, port, tls: true, rule: decision.rule });
        });
      },
      () => socket.destroy(),
    );
  });
}

function blindTunnel(
  ctx: TunnelContext,
  socket: net.Socket,
  head: Buffer,
  address: string,
  port: number,
  record: AuditRecord,
): void {
  const upstream = net.connect({ host: address, port });
  let connected = false;
  const connectTimer = setTimeout(
    () => upstream.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })),
    ctx.limits.upstream_timeout_ms,
  );
  upstream.once("connect", () => {
    clearTimeout(connectTimer);
    connected = true;
    upstream.setTimeout(ctx.limits.idle_timeout_ms, () => upstream.destroy());
    socket.write(ESTABLISHED);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
  upstream.once("error", (error) => {
    clearTimeout(connectTimer);
    if (!connected) {
      record.decision = "error";
      record.code = classifyUpstreamError(error);
      socket.end(
        rawUpstreamError(classifyUpstreamError(error), (error as NodeJS.ErrnoException).code ?? "error"),
      );
    } else {
      socket.destroy();
    }
  });
  upstream.once("close", () => socket.destroy());
  socket.once("close", () => upstream.destroy());
}
