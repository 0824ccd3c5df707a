import { randomBytes } from "node:crypto";
import type * as http from "node:http";
import type { Socket } from "node:net";
import type { Limits } from "../../contracts/egress-proxy.ts";
import { type AuditRecord, redactPath, startAuditRecord } from "../common/audit.ts";
import { endToEndHeaders, PROXY_ONLY } from "../common/headers.ts";
import { checkHead, inspects } from "./head-check.ts";
import { rawExchange, rawUpstreamError } from "./respond.ts";
import { targetOf } from "./target.ts";
import type { ProxyPolicy, TunnelBinding } from "./types.ts";
import { classifyUpstreamError, requestUpstream, type Upstreams } from "./upstream.ts";
import {
  acceptedDeflate,
  CLOSE,
  ClientFrameInspector,
  clientCloseFrame,
  type DeflateTerms,
  inspectableExtensions,
  serverCloseFrame,
} from "./websocket-frames.ts";

/**
 * WebSocket upgrades pass after the same checks as a plain request: target and Host, host
 * policy, DLP on URL and headers, SSRF-checked dial. Any other Upgrade (h2c, TLS, ...), and a
 * handshake with a body, is refused: its bytes could not be inspected. After the upstream's 101,
 * on an inspected connection every frame the agent sends goes through ClientFrameInspector
 * (websocket-frames.ts): a message with a secret closes both sides with 1008 and is audited;
 * what the upstream sends back is relayed as it comes.
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
  const refusal = refuseUpgrade(req);
  if (refusal !== undefined) {
    refuse({ code: "upgrade-refused", rule: refusal, target: `${target.host}:${target.port}` });
    return;
  }
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
  const inspect = await inspects(policy, decision.mode, req.socket.remoteAddress);
  const headers = upgradeHeaders(req, inspect);
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
    socket.setTimeout(ctx.limits.idle_timeout_ms, () => socket.destroy());
    upstreamSocket.pipe(socket);
    if (inspect) {
      const deflate = acceptedDeflate(res.headers["sec-websocket-extensions"]);
      const close = (code: number, reason: string) => {
        socket.end(serverCloseFrame(code, `${reason}; refused by the bottle's egress proxy`));
        upstreamSocket.end(clientCloseFrame(code, randomBytes(4)));
        setTimeout(() => upstreamSocket.destroy(), 1000).unref();
      };
      if (deflate instanceof Error) {
        record.decision = "block";
        record.code = "upgrade-refused";
        record.rule = deflate.message;
        close(CLOSE.unsupported, "an extension the proxy cannot inspect");
      } else {
        relayInspected(ctx, socket, upstreamSocket, head, deflate, record, target, close);
      }
    } else {
      if (head.length > 0) upstreamSocket.write(head);
      socket.pipe(upstreamSocket);
    }
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

/** Why an upgrade request is refused, or undefined for a plain WebSocket handshake. */
function refuseUpgrade(req: http.IncomingMessage): string | undefined {
  const upgrade = (req.headers.upgrade ?? "").trim();
  if (upgrade.toLowerCase() !== "websocket")
    return `Upgrade: ${upgrade.slice(0, 40) || "(empty)"} is not inspected; only WebSocket upgrades pass (h2c and others are refused)`;
  if (req.method !== "GET") return "a WebSocket handshake is a GET";
  const length = req.headers["content-length"];
  if ((length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined)
    return "a WebSocket handshake carries no body";
  return undefined;
}

/**
 * The headers sent upstream: end-to-end ones plus Connection/Upgrade (hop-by-hop, but the point of
 * this request). When the frames are inspected, the client's extension offer keeps only what the
 * inspector can read (permessage-deflate).
 */
function upgradeHeaders(req: http.IncomingMessage, inspect: boolean): string[] {
  const headers = endToEndHeaders(req.rawHeaders);
  const kept: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (inspect && headers[i]!.toLowerCase() === "sec-websocket-extensions") continue;
    kept.push(headers[i]!, headers[i + 1]!);
  }
  const offer = inspect ? inspectableExtensions(req.headers["sec-websocket-extensions"]) : undefined;
  if (offer !== undefined) kept.push("Sec-WebSocket-Extensions", offer);
  kept.push("Connection", "Upgrade", "Upgrade", "websocket");
  return kept;
}

/** Client → upstream through the inspector, one chunk at a time, with backpressure. */
function relayInspected(
  ctx: UpgradeContext,
  socket: Socket,
  upstreamSocket: Socket,
  head: Buffer,
  deflate: DeflateTerms | undefined,
  record: AuditRecord,
  { host, port }: { host: string; port: number },
  close: (code: number, reason: string) => void,
): void {
  const inspector = new ClientFrameInspector({
    maxMessageBytes: ctx.limits.max_body_bytes,
    deflate,
    scan: (text) => ctx.policy.dlp.inspectBody({ host, port, text, where: "websocket message" }),
  });
  let closed = false;
  const feed = async (chunk: Buffer) => {
    if (closed) return;
    const verdict = await inspector.push(chunk);
    if (closed) return;
    if (verdict.kind === "forward") {
      for (const bytes of verdict.bytes) upstreamSocket.write(bytes);
      return;
    }
    closed = true;
    record.decision = "block";
    record.code = verdict.refusal?.code ?? "bad-request";
    record.rule = verdict.refusal?.rule ?? `websocket: ${verdict.reason}`;
    close(verdict.closeCode, verdict.reason);
  };
  let queue = head.length > 0 ? feed(head) : Promise.resolve();
  socket.on("data", (chunk: Buffer) => {
    socket.pause();
    queue = queue
      .then(() => feed(chunk))
      .then(
        () => {
          socket.resume();
        },
        () => {
          socket.destroy();
        },
      );
  });
}
