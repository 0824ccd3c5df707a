import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { type Block, type BlockContext, renderBlock, renderBlockRaw } from "../../lib/block-response.ts";
import { type AuditRecord, elapsedMs } from "../common/audit.ts";
import { ERROR_HEADER, type UpstreamFailure } from "./upstream.ts";

/** Writes a refusal on a response; closes the connection when the request body was not read. */
export function sendBlock(res: ServerResponse, block: Block, context: BlockContext, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const rendered = renderBlock(block, context);
  if (close) res.setHeader("Connection", "close");
  res.writeHead(rendered.status, rendered.headers);
  res.end(rendered.body);
}

function sendBlockRaw(socket: Socket, block: Block, context: BlockContext): void {
  if (socket.writable) socket.end(renderBlockRaw(block, context));
  else socket.destroy();
}

const STATUS: Record<UpstreamFailure | "dns", number> = {
  dns: 502,
  "upstream-unreachable": 502,
  "upstream-tls": 502,
  "upstream-reset": 502,
  "upstream-timeout": 504,
};

/** A network failure, not a policy decision: no X-Bottle-Block, so an agent can tell them apart. */
export function sendUpstreamError(res: ServerResponse, kind: UpstreamFailure | "dns", detail: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `claude-bottle egress-proxy could not reach the upstream: ${kind} (${detail})\n`;
  res.writeHead(STATUS[kind], {
    [ERROR_HEADER]: kind,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function rawUpstreamError(kind: UpstreamFailure | "dns", detail: string): string {
  const body = `claude-bottle egress-proxy could not reach the upstream: ${kind} (${detail})\n`;
  const status = STATUS[kind];
  return `HTTP/1.1 ${status} ${status === 504 ? "Gateway Timeout" : "Bad Gateway"}\r\n${ERROR_HEADER}: ${kind}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * The two ways a raw-socket exchange (CONNECT, upgrade) ends in the audit log: `finish` writes
 * its record once, whenever called again; `refuse` answers the refusal on the socket and
 * finishes.
 */
export function rawExchange(
  socket: Socket,
  record: AuditRecord,
  started: number,
  audit: (record: AuditRecord) => void,
  context: BlockContext,
): { finish: () => void; refuse: (block: Block) => void } {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    record.duration_ms = elapsedMs(started);
    audit(record);
  };
  const refuse = (block: Block) => {
    record.decision = "block";
    record.rule = block.rule;
    record.code = block.code;
    sendBlockRaw(socket, { ...block, id: record.id }, context);
    finish();
  };
  return { finish, refuse };
}
