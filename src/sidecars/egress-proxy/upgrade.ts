import type * as http from "node:http";
import type { Socket } from "node:net";
import { type AuditRecord, redactPath, startAuditRecord } from "./audit.ts";
import type { Limits } from "./config.ts";
import { checkHead, inspects } from "./head-check.ts";
import { endToEndHeaders, PROXY_ONLY } from "./headers.ts";
import { rawExchange, rawUpstreamError } from "./respond.ts";
import { targetOf } from "./target.ts";
import type { ProxyPolicy, TunnelBinding } from "./types.ts";
import { classifyUpstreamError, requestUpstream, type Upstreams } from "./upstream.ts";

/**
 * WebSocket (and any other Upgrade) requests pass after the same checks as a plain request:
 * target and Host, host policy, DLP on URL and headers, SSRF-checked dial. After the upstream's
 * 101 the two sockets are joined; frames are not inspected.
 */

export interface UpgradeContext {
  readonly policy: ProxyPolicy;
  readonly limits: Limits;
  readonly audit: (record: AuditRecord) => void;
  readonly upstreams: Upstreams;
}

export async function handleUpgrade(
  ctx: UpgradeContext,
  req: http.IncomingMessage,
  socket: Socket,
  head: Buffer,
  tunnel: TunnelBinding | undefined,
): Promise<void> {
  const started = performance.now();
  const { policy } = ctx;
  const record = startAuditRecord({
    client: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
    kind: "websocket",
    method: req.method ?? "GET",
    scheme: tunnel?.tls ? "https" : "http",
    host: tunnel?.host ?? "",
    port: tunnel?.port ?? 0,
  });
  const { finish, refuse } = rawExchange(socket, record, started, ctx.audit, policy.blockContext);
  socket.on("error", () => socket.destroy());

  const resolved = targetOf(req, tunnel);
  if (!resolved.ok) {
    refuse(resolved.block);
    return;
  }
  const target = resolved.target;
  Object.assign(record, {
    scheme: target.scheme,
    host: target.host,
    port: target.port,
    path: redactPath(target.path),
  });
  const decision = policy.decide(target.host, target.port);
  if (decision.kind === "block") {
    refuse(decision.block);
    return;
  }
  record.rule = decision.rule;
  // Upgrade and Connection are hop-by-hop but are the point of this request: put them back.
  const headers = endToEndHeaders(req.rawHeaders);
  headers.push("Connection", "Upgrade", "Upgrade", req.headers.upgrade ?? "websocket");
  const inspect = await inspects(policy, decision.mode, req.socket.remoteAddress);
  const checked = await checkHead(policy, record, target, inspect, headers);
  if (!checked.ok) {
    if ("block" in checked) refuse(checked.block);
    else {
      record.decision = "error";
      socket.end(rawUpstreamError("dns", checked.dnsError));
      finish();
    }
    return;
  }
  const { address } = checked;
  const upstreamReq = requestUpstream(
    target,
    address.address,
    { method: req.method, headers, timeoutMs: ctx.limits.upstream_timeout_ms },
    { https: ctx.upstreams.upgradeTls, http: false },
  );
  upstreamReq.on("timeout", () =>
    upstreamReq.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })),
  );
  upstreamReq.on("error", (error) => {
    record.decision = "error";
    record.code = classifyUpstreamError(error);
    socket.end(
      rawUpstreamError(classifyUpstreamError(error), (error as NodeJS.ErrnoException).code ?? "error"),
    );
    finish();
  });
  upstreamReq.on("response", (res) => {
    // The upstream declined the upgrade: relay its answer and close.
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ""}`];
    const raw = endToEndHeaders(res.rawHeaders, PROXY_ONLY);
    for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
    lines.push("Connection: close");
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    record.status = res.statusCode ?? 0;
    res.pipe(socket);
    res.on("end", finish);
  });
  upstreamReq.on("upgrade", (res, upstreamSocket, upstreamHead) => {
    upstreamReq.setTimeout(0);
    upstreamSocket.setTimeout(0);
    record.status = 101;
    const lines = [`HTTP/1.1 101 ${res.statusMessage ?? "Switching Protocols"}`];
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
      lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    socket.setTimeout(ctx.limits.idle_timeout_ms, () => socket.destroy());
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
    upstreamSocket.on("error", () => socket.destroy());
    upstreamSocket.once("close", () => socket.destroy());
    socket.once("close", () => {
      upstreamSocket.destroy();
      record.bytes_in = upstreamSocket.bytesWritten;
      record.bytes_out = upstreamSocket.bytesRead;
      finish();
    });
  });
  upstreamReq.end();
}
