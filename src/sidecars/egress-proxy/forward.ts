import type * as http from "node:http";
import type { Limits } from "../../contracts/egress-proxy.ts";
import type { Block } from "../../lib/block-response.ts";
import { type AuditRecord, elapsedMs, redactPath, startAuditRecord } from "../common/audit.ts";
import { isGitPush } from "../common/git-push.ts";
import { endToEndHeaders, PROXY_ONLY, rawHeaderValue } from "../common/headers.ts";
import { decodeBody, sniffCompressed } from "./body-decode.ts";
import { checkHead, inspects } from "./head-check.ts";
import { sendBlock, sendUpstreamError } from "./respond.ts";
import { targetOf } from "./target.ts";
import type { ProxyPolicy, Target, TunnelBinding } from "./types.ts";
import { classifyUpstreamError, requestUpstream, type Upstreams } from "./upstream.ts";

/**
 * One HTTP request, plain (absolute-form) or from inside an intercepted tunnel: target and Host
 * check, host policy, DLP on URL and headers, SSRF-checked resolution, the body read in full
 * (bounded), decoded and scanned, then sent upstream on a keep-alive pool. The response streams
 * back unbuffered (chunked and SSE stay streaming). Passthrough hosts skip DLP and stream the
 * request body too.
 */

export interface RequestContext {
  readonly policy: ProxyPolicy;
  readonly upstreams: Upstreams;
  readonly limits: Limits;
  readonly audit: (record: AuditRecord) => void;
}

/** Recomputed after buffering, or meant for this hop only. */
const DROP_BUFFERED = new Set(["content-length", "expect"]);

function clientOf(req: http.IncomingMessage): string {
  const s = req.socket;
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? 0}`;
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; tooLarge: true } | { ok: false; tooLarge: false };

function readBody(req: http.IncomingMessage, max: number): Promise<BodyResult> {
  const declared = req.headers["content-length"];
  if (declared === undefined && req.headers["transfer-encoding"] === undefined) {
    return Promise.resolve({ ok: true, body: Buffer.alloc(0) });
  }
  if (declared !== undefined && Number(declared) > max) return Promise.resolve({ ok: false, tooLarge: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        cleanup();
        req.pause();
        resolve({ ok: false, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) });
    };
    const onAbort = () => {
      cleanup();
      resolve({ ok: false, tooLarge: false });
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("aborted", onAbort);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("aborted", onAbort);
  });
}

export async function handleRequest(
  ctx: RequestContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  tunnel: TunnelBinding | undefined,
): Promise<void> {
  const started = performance.now();
  const { policy } = ctx;
  const record = startAuditRecord({
    client: clientOf(req),
    kind: "request",
    method: req.method ?? "?",
    scheme: tunnel?.tls ? "https" : "http",
    host: tunnel?.host ?? "",
    port: tunnel?.port ?? 0,
  });
  res.once("close", () => {
    record.status = res.statusCode;
    record.duration_ms = elapsedMs(started);
    ctx.audit(record);
  });
  const refuse = (block: Block, close = false) => {
    record.decision = "block";
    record.rule = block.rule;
    record.code = block.code;
    sendBlock(res, { ...block, id: record.id }, policy.blockContext, close);
  };

  const resolved = targetOf(req, tunnel);
  if (!resolved.ok) {
    record.path = "[unparsed]";
    refuse(resolved.block, true);
    return;
  }
  const target: Target = resolved.target;
  Object.assign(record, { scheme: target.scheme, host: target.host, port: target.port });
  record.path = redactPath(target.path);

  const decision = policy.decide(target.host, target.port);
  if (decision.kind === "block") {
    refuse(decision.block);
    return;
  }
  record.rule = decision.rule;
  // G4: pushes go only through git-gate, which scans them. A smart-HTTP push straight to an
  // allowlisted git host would skip that scan (the pack's objects are zlib streams DLP does not
  // open), so it is refused here as cred-proxy refuses it on its routes.
  if (isGitPush(target.path)) {
    refuse({
      code: "git-push-https",
      rule: "git push over HTTPS (git-receive-pack) is refused on egress-proxy; fetch works",
      target: `${target.host}:${target.port}`,
    });
    return;
  }
  const inspect = await inspects(policy, decision.mode, req.socket.remoteAddress);
  const headers = endToEndHeaders(req.rawHeaders, inspect ? DROP_BUFFERED : undefined);
  const checked = await checkHead(policy, record, target, inspect, headers);
  if (!checked.ok) {
    if ("block" in checked) refuse(checked.block);
    else {
      record.decision = "error";
      record.code = "dns";
      sendUpstreamError(res, "dns", checked.dnsError);
    }
    return;
  }
  const { address } = checked;

  let body: Buffer | undefined;
  if (inspect) {
    const read = await readBody(req, ctx.limits.max_body_bytes);
    if (!read.ok) {
      if (read.tooLarge) {
        refuse(
          {
            code: "body-too-large",
            rule: `request body over limits.max_body_bytes (${ctx.limits.max_body_bytes})`,
          },
          true,
        );
      } else {
        res.destroy();
      }
      return;
    }
    body = read.body;
    record.bytes_in = body.length;
    if (body.length > 0) {
      const decoded = await decodeBody(
        body,
        rawHeaderValue(headers, "content-encoding"),
        ctx.limits.max_body_bytes,
      );
      if (!decoded.ok) {
        refuse(
          decoded.reason === "too-large"
            ? { code: "body-too-large", rule: `${decoded.detail} (limits.max_body_bytes)` }
            : { code: "dlp-undecodable", rule: `cannot decode ${decoded.detail}` },
        );
        return;
      }
      // A compressed body that does not say so is scanned decoded too (magic bytes).
      const hidden = await sniffCompressed(decoded.data, ctx.limits.max_body_bytes);
      const bomb = hidden.find((layer) => !layer.ok);
      if (bomb !== undefined && !bomb.ok) {
        refuse({ code: "body-too-large", rule: `${bomb.detail} (limits.max_body_bytes)` });
        return;
      }
      const texts = [decoded.data, ...hidden.flatMap((layer) => (layer.ok ? [layer.data] : []))];
      const block = await policy.dlp.inspectBody({
        host: target.host,
        port: target.port,
        text: texts.map((data) => data.toString("utf8")).join("\n"),
      });
      if (block !== undefined) {
        refuse(block);
        return;
      }
    }
    if (body.length > 0 || req.headers["content-length"] !== undefined) {
      headers.push("Content-Length", String(body.length));
    }
  }
  if (res.destroyed) return;
  forward(ctx, req, res, target, address.address, headers, body, record);
}

function forward(
  ctx: RequestContext,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: Target,
  address: string,
  headers: string[],
  body: Buffer | undefined,
  record: AuditRecord,
): void {
  const upstreamReq = requestUpstream(
    target,
    address,
    { method: req.method, headers, timeoutMs: ctx.limits.upstream_timeout_ms },
    { https: ctx.upstreams.https, http: ctx.upstreams.http },
  );
  let responded = false;
  upstreamReq.on("timeout", () => {
    if (!responded)
      upstreamReq.destroy(Object.assign(new Error("upstream timeout"), { code: "UPSTREAM_TIMEOUT" }));
  });
  upstreamReq.on("error", (error) => {
    if (responded) {
      res.destroy();
      return;
    }
    record.decision = "error";
    record.code = classifyUpstreamError(error);
    sendUpstreamError(res, classifyUpstreamError(error), (error as NodeJS.ErrnoException).code ?? "error");
  });
  upstreamReq.on("response", (upstreamRes) => {
    responded = true;
    upstreamReq.setTimeout(0);
    res.writeHead(
      upstreamRes.statusCode ?? 502,
      upstreamRes.statusMessage,
      endToEndHeaders(upstreamRes.rawHeaders, PROXY_ONLY),
    );
    upstreamRes.on("data", (chunk: Buffer) => {
      record.bytes_out += chunk.length;
    });
    upstreamRes.pipe(res);
    upstreamRes.on("error", () => res.destroy());
  });
  res.once("close", () => {
    if (!upstreamReq.writableFinished || !res.writableFinished) upstreamReq.destroy();
  });
  if (body !== undefined) {
    upstreamReq.end(body);
  } else {
    req.on("data", (chunk: Buffer) => {
      record.bytes_in += chunk.length;
    });
    req.pipe(upstreamReq);
  }
}
