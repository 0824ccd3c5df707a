import { formatBytes } from "../lib/bytes.ts";
import { visible } from "../lib/terminal-text.ts";
import type { LogEvent } from "./events.ts";

/** Distinct hosts a summary keeps apart; the rest are counted together (a log may be hostile). */
const MAX_HOSTS = 10_000;
const OTHER = "(other hosts)";

interface HostTotals {
  requests: number;
  refused: number;
  bytesIn: number;
  bytesOut: number;
}

/** `logs --summary`, built one event at a time in bounded memory. */
export class LogSummary {
  events = 0;
  first: string | undefined;
  last: string | undefined;
  readonly hosts = new Map<string, HostTotals>();
  readonly refusals = new Map<string, number>();
  readonly pushes = new Map<string, number>();
  readonly decisions = new Map<string, number>();

  add(event: LogEvent): void {
    this.events++;
    if (this.first === undefined || event.time < this.first) this.first = event.time;
    if (this.last === undefined || event.time > this.last) this.last = event.time;
    if (event.source === "egress" && event.host !== undefined) {
      const key = this.hosts.has(event.host) || this.hosts.size < MAX_HOSTS ? event.host : OTHER;
      const totals = this.hosts.get(key) ?? { requests: 0, refused: 0, bytesIn: 0, bytesOut: 0 };
      totals.requests++;
      if (event.refused) totals.refused++;
      totals.bytesIn += event.bytesIn ?? 0;
      totals.bytesOut += event.bytesOut ?? 0;
      this.hosts.set(key, totals);
    }
    if ((event.source === "egress" || event.source === "cred-proxy") && event.outcome === "block")
      count(this.refusals, `${event.source} ${event.code ?? "?"}`);
    if (event.source === "git-gate") count(this.pushes, event.outcome);
    if (event.source === "supervise") count(this.decisions, event.outcome);
  }

  json(): Record<string, unknown> {
    return {
      events: this.events,
      first: this.first ?? null,
      last: this.last ?? null,
      hosts: [...this.hosts]
        .sort((a, b) => b[1].requests - a[1].requests)
        .map(([host, totals]) => ({
          host,
          requests: totals.requests,
          refused: totals.refused,
          bytes_in: totals.bytesIn,
          bytes_out: totals.bytesOut,
        })),
      refusals: Object.fromEntries(this.refusals),
      pushes: Object.fromEntries(this.pushes),
      decisions: Object.fromEntries(this.decisions),
    };
  }

  lines(): string[] {
    const hosts = [...this.hosts].sort((a, b) => b[1].requests - a[1].requests);
    const width = Math.max(4, ...hosts.map(([host]) => host.length));
    return [
      `${this.events} events${this.first ? ` from ${this.first} to ${this.last}` : ""}`,
      "",
      "hosts contacted (egress-proxy):",
      ...(hosts.length
        ? hosts.map(
            ([host, totals]) =>
              `  ${host.padEnd(width)}  ${String(totals.requests).padStart(7)} requests  ${String(totals.refused).padStart(6)} refused  ↑${formatBytes(totals.bytesOut)} ↓${formatBytes(totals.bytesIn)}`,
          )
        : ["  (none)"]),
      "refusals by code:",
      ...listed(this.refusals),
      "pushes (git-gate):",
      ...listed(this.pushes),
      "proposals decided (supervise):",
      ...listed(this.decisions),
    ].map(visible);
  }
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function listed(map: ReadonlyMap<string, number>): string[] {
  if (map.size === 0) return ["  (none)"];
  return [...map].sort((a, b) => b[1] - a[1]).map(([key, value]) => `  ${key}: ${value}`);
}
