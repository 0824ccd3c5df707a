import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CRED_PROXY } from "../contracts/cred-proxy.ts";
import { EGRESS } from "../contracts/egress-proxy.ts";
import { GIT_GATE } from "../contracts/git-gate.ts";
import { credProxyLogDir, egressLogDir, gitGateLogDir, SUPERVISE_AUDIT_FILE } from "../lib/home-layout.ts";

import { type LogEvent, type LogSource, toEvent } from "./events.ts";
import { readLines, tailLines } from "./lines.ts";

/**
 * Where each sidecar's audit lines of a bottle are on the host (docs/logs.md), oldest first: a
 * capped log's rotation (`.1`) before the file being written.
 */
export function logFiles(logDir: string): { source: LogSource; file: string }[] {
  // The sidecars' own dirs and file names, as launch mounts and configures them.
  const files: { source: LogSource; file: string }[] = [];
  for (const [source, file, rotated] of [
    ["egress", join(egressLogDir(logDir), basename(EGRESS.auditFile)), true],
    ["cred-proxy", join(credProxyLogDir(logDir), basename(CRED_PROXY.auditFile)), true],
    ["git-gate", join(gitGateLogDir(logDir), basename(GIT_GATE.auditFile)), false],
    ["supervise", join(logDir, SUPERVISE_AUDIT_FILE), false],
  ] as const) {
    if (rotated) files.push({ source, file: `${file}.1` });
    files.push({ source, file });
  }
  return files;
}

export interface EventFilter {
  sources?: readonly LogSource[] | undefined;
  since?: Date | undefined;
  blocked?: boolean | undefined;
}

/** Lines that were not events: too long, not JSON, not an audit record. */
interface ReadStats {
  unreadable: number;
}

function matches(event: LogEvent, filter: EventFilter): boolean {
  if (filter.blocked && !event.refused) return false;
  if (filter.since !== undefined && Date.parse(event.time) < filter.since.getTime()) return false;
  return true;
}

interface Cursor {
  source: LogSource;
  file: string;
  offset: number;
}

/** One file's events from the cursor on, advancing it; unreadable lines counted. */
async function* fileEvents(cursor: Cursor, filter: EventFilter, stats: ReadStats): AsyncGenerator<LogEvent> {
  let skippedBefore = 0;
  for await (const chunk of readLines(cursor.file, { offset: cursor.offset })) {
    stats.unreadable += chunk.skipped - skippedBefore;
    skippedBefore = chunk.skipped;
    for (const line of chunk.lines) {
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        stats.unreadable++;
        continue;
      }
      const event = toEvent(cursor.source, parsed);
      if (event === undefined) stats.unreadable++;
      else if (matches(event, filter)) yield event;
    }
    cursor.offset = chunk.offset;
  }
}

/** Merges time-ordered streams by time: one head per stream in memory. */
async function* merged(streams: AsyncGenerator<LogEvent>[]): AsyncGenerator<LogEvent> {
  const heads = await Promise.all(streams.map((stream) => stream.next()));
  for (;;) {
    let best = -1;
    for (const [index, head] of heads.entries()) {
      if (head.done) continue;
      const current = heads[best];
      if (best === -1 || (current && !current.done && head.value.time < current.value.time)) best = index;
    }
    const winner = heads[best];
    if (winner === undefined || winner.done) return;
    yield winner.value;
    heads[best] = await (streams[best] as AsyncGenerator<LogEvent>).next();
  }
}

export interface BottleLog {
  /** Every event so far, merged by time. */
  events(): AsyncGenerator<LogEvent>;
  /** Then what is appended, polled every `pollMs` until the signal aborts. */
  follow(signal: AbortSignal, pollMs?: number): AsyncGenerator<LogEvent>;
  readonly stats: ReadStats;
}

/**
 * A bottle's log, read from its files (they stay after `stop`). Each sidecar's file is in the
 * order its lines were written; the egress proxy writes a request's line when it ends, stamped
 * with its start, so neighbours may be a moment out of order.
 */
export function bottleLog(logDir: string, filter: EventFilter = {}): BottleLog {
  const stats: ReadStats = { unreadable: 0 };
  const cursors: Cursor[] = logFiles(logDir)
    .filter(({ source }) => filter.sources === undefined || filter.sources.includes(source))
    .map(({ source, file }) => ({ source, file, offset: 0 }));
  return {
    stats,
    events: () => merged(cursors.map((cursor) => fileEvents(cursor, filter, stats))),
    async *follow(signal, pollMs = 500) {
      while (!signal.aborted) {
        for (const cursor of cursors) {
          const size = await stat(cursor.file).then(
            (info) => info.size,
            () => 0,
          );
          if (size < cursor.offset) cursor.offset = 0; // truncated or replaced: start over
        }
        yield* merged(cursors.map((cursor) => fileEvents(cursor, filter, stats)));
        await sleep(pollMs, undefined, { signal }).catch(() => {});
      }
    },
  };
}

/** The latest `count` events of a bottle, from the ends of its files (the dashboard's pane). */
export async function recentEvents(logDir: string, count: number): Promise<LogEvent[]> {
  const events: LogEvent[] = [];
  for (const { source, file } of logFiles(logDir)) {
    for (const line of await tailLines(file)) {
      try {
        const event = toEvent(source, JSON.parse(line));
        if (event !== undefined) events.push(event);
      } catch {
        // a cut or hostile line: not shown
      }
    }
  }
  return events.sort((a, b) => a.time.localeCompare(b.time)).slice(-count);
}
