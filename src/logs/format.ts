import { safeJson, visible } from "../lib/terminal-text.ts";
import type { LogEvent } from "./events.ts";

/**
 * `claude-bottle logs` as text: one aligned line per event, refusals marked with `✗`, every
 * character a sidecar wrote made visible (a line cannot move the cursor or retitle the terminal).
 */
export function eventLine(event: LogEvent): string {
  const time = event.time.replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1Z");
  const columns = [
    time.padEnd(24),
    event.source.padEnd(10),
    `${event.refused ? "✗" : " "} ${event.outcome}`.padEnd(18),
    (event.id ?? "").padEnd(10),
    event.what,
  ];
  return visible(`${columns.join(" ")}${event.detail ? `  — ${event.detail}` : ""}`);
}

/** As a JSON line for scripts, every control character escaped (valid JSON, safe on a terminal). */
export function eventJson(event: LogEvent): string {
  return safeJson(event);
}
