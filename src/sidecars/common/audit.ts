import { createWriteStream, readFileSync, renameSync, statSync, type WriteStream } from "node:fs";
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

/** Characters of a path an audit line keeps: a flood of huge paths must not become a flood of log. */
const MAX_AUDIT_PATH = 1024;

/**
 * Keeps query keys and replaces every value: `/a?x=1&y` -> `/a?x=[redacted]&y`. Drops fragments.
 * Cut to MAX_AUDIT_PATH characters, saying how many more there were.
 */
export function redactPath(target: string): string {
  const redacted = redactQuery(target);
  return redacted.length > MAX_AUDIT_PATH
    ? `${redacted.slice(0, MAX_AUDIT_PATH)}…[+${redacted.length - MAX_AUDIT_PATH} chars]`
    : redacted;
}

function redactQuery(target: string): string {
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

/** Where an audit log goes: a file (rotated and capped at `maxBytes`) or a stream. */
export type AuditSink = { path: string; mode?: number; maxBytes?: number } | { stream: Writable };

/**
 * The audit log of one sidecar. A file is capped: when it reaches half of `maxBytes` it becomes
 * `<path>.1` (replacing the previous one, whose lines are dropped) and a new file starts with a
 * line that counts what was dropped, so `logs` can say what the cap cost. Lines never wait for
 * the disk beyond `maxPendingBytes`: past it they are dropped and counted too.
 */
export function createAuditLog<T = AuditRecord>(
  sink: AuditSink,
  maxPendingBytes = 8 * 1024 * 1024,
): AuditLog<T> {
  const file = "path" in sink ? sink.path : undefined;
  const mode = "path" in sink ? (sink.mode ?? 0o600) : 0o600;
  const fileMax = "path" in sink && sink.maxBytes !== undefined ? Math.floor(sink.maxBytes / 2) : Infinity;
  const open = (path: string): WriteStream => {
    const opened = createWriteStream(path, { flags: "a", mode });
    opened.on("error", (error) => {
      process.stderr.write(`audit log write failed: ${error.message}\n`);
    });
    return opened;
  };
  let owned: WriteStream | undefined = file === undefined ? undefined : open(file);
  const stream = (): Writable => owned ?? ("stream" in sink ? sink.stream : process.stdout);
  if (owned === undefined)
    stream().on("error", (error) => process.stderr.write(`audit log write failed: ${error.message}\n`));
  let size = file === undefined ? 0 : sizeOf(file);
  /** Lines in the current file and in `.1`, when this process wrote them (else counted on rotation). */
  let lines: { current: number | undefined; previous: number | undefined } = {
    current: size === 0 ? 0 : undefined,
    previous: undefined,
  };
  let dropped = 0;
  let closed = false;
  let reportedDrops = 0;
  const emit = (text: string) => {
    if (file !== undefined && size + text.length > fileMax && size > 0) rotate(file);
    stream().write(text);
    size += Buffer.byteLength(text);
    if (lines.current !== undefined) lines.current++;
  };
  const rotate = (path: string) => {
    const rotated = `${path}.1`;
    const lost = { lines: lines.previous ?? countLines(rotated), bytes: sizeOf(rotated) };
    owned?.end();
    try {
      renameSync(path, rotated);
    } catch {
      // gone already: the new file starts anyway
    }
    owned = open(path);
    size = 0;
    lines = { current: 0, previous: lines.current ?? countLines(rotated) };
    if (lost.bytes > 0)
      emit(
        `${JSON.stringify({ time: new Date().toISOString(), kind: "audit-rotated", dropped_lines: lost.lines, dropped_bytes: lost.bytes })}\n`,
      );
  };
  return {
    get dropped() {
      return dropped;
    },
    write(record) {
      if (closed) return; // connections torn down at shutdown report after the log closed
      if (stream().writableLength > maxPendingBytes) {
        dropped++;
        return;
      }
      if (dropped > reportedDrops) {
        emit(
          `${JSON.stringify({ time: new Date().toISOString(), kind: "audit-dropped", count: dropped - reportedDrops })}\n`,
        );
        reportedDrops = dropped;
      }
      emit(`${JSON.stringify(record)}\n`);
    },
    async [Symbol.asyncDispose]() {
      closed = true;
      const last = owned;
      if (last === undefined) return;
      await new Promise<void>((resolve) => last.end(resolve));
    },
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Newlines of a file this process did not write (a previous run's rotation); rare and bounded by the cap. */
function countLines(path: string): number {
  try {
    const text = readFileSync(path);
    let count = 0;
    for (let at = text.indexOf(10); at !== -1; at = text.indexOf(10, at + 1)) count++;
    return count;
  } catch {
    return 0;
  }
}
