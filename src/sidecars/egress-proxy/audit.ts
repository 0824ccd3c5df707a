import { createWriteStream, type WriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { newRequestId } from "../../lib/request-id.ts";

/**
 * One JSON line per request or tunnel. Lines carry no secret: query values are redacted, and a
 * path in which DLP found anything is replaced whole. The write buffer is bounded: when the
 * sink cannot keep up, lines are dropped and counted, and the count is logged once it drains.
 */

export interface AuditRecord {
  time: string;
  /** Short id, also in a refusal's X-Bottle-Request-Id (lib/request-id.ts). */
  id: string;
  client: string;
  kind: "request" | "tunnel" | "websocket";
  method: string;
  scheme: "http" | "https" | "tunnel";
  host: string;
  port: number;
  path: string;
  decision: "allow" | "block" | "error";
  /** The allowlist entry that allowed, or the rule that refused. */
  rule: string;
  /** The X-Bottle-Block code of a refusal, or the error kind. */
  code?: string;
  status?: number;
  bytes_in: number;
  bytes_out: number;
  duration_ms: number;
}

/** A fresh record for one request or tunnel: allowed until something refuses it, no bytes yet. */
export function startAuditRecord(
  fields: Pick<AuditRecord, "client" | "kind" | "method" | "scheme" | "host" | "port">,
): AuditRecord {
  return {
    time: new Date().toISOString(),
    id: newRequestId(),
    ...fields,
    path: "",
    decision: "allow",
    rule: "",
    bytes_in: 0,
    bytes_out: 0,
    duration_ms: 0,
  };
}

/** Milliseconds since `started` (a performance.now() reading), to the microsecond. */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

export interface AuditLog<T = AuditRecord> extends AsyncDisposable {
  write(record: T): void;
  readonly dropped: number;
}

/** Keeps query keys and replaces every value: `/a?x=1&y` -> `/a?x=[redacted]&y`. Drops fragments. */
export function redactPath(target: string): string {
  const hash = target.indexOf("#");
  const path = hash >= 0 ? target.slice(0, hash) : target;
  const q = path.indexOf("?");
  if (q < 0) return path;
  const query = path
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      return eq < 0 ? pair : `${pair.slice(0, eq)}=[redacted]`;
    })
    .join("&");
  return `${path.slice(0, q)}?${query}`;
}

export function createAuditLog<T = AuditRecord>(
  sink: { path: string; mode?: number } | { stream: Writable },
  maxPendingBytes = 8 * 1024 * 1024,
): AuditLog<T> {
  const owned: WriteStream | undefined =
    "path" in sink ? createWriteStream(sink.path, { flags: "a", mode: sink.mode ?? 0o600 }) : undefined;
  const stream: Writable = owned ?? ("stream" in sink ? sink.stream : process.stdout);
  let dropped = 0;
  let closed = false;
  let reportedDrops = 0;
  stream.on("error", (error) => {
    process.stderr.write(`egress-proxy: audit log write failed: ${error.message}\n`);
  });
  return {
    get dropped() {
      return dropped;
    },
    write(record) {
      if (closed) return; // connections torn down at shutdown report after the log closed
      if (stream.writableLength > maxPendingBytes) {
        dropped++;
        return;
      }
      if (dropped > reportedDrops) {
        stream.write(
          `${JSON.stringify({ time: new Date().toISOString(), kind: "audit-dropped", count: dropped - reportedDrops })}\n`,
        );
        reportedDrops = dropped;
      }
      stream.write(`${JSON.stringify(record)}\n`);
    },
    async [Symbol.asyncDispose]() {
      closed = true;
      if (owned === undefined) return;
      await new Promise<void>((resolve) => owned.end(resolve));
    },
  };
}
