import type { Proposal, RenderedRouteEntry } from "../contracts/supervise.ts";
import { visible, visibleLines } from "../lib/terminal-text.ts";
import { changedOnly, lineDiff } from "./diff.ts";

/** Text views of the queue, shared by `dashboard --once` and the interactive dashboard. Pure. */

/** A proposal waiting for the operator, and the bottle it came from. */
export interface PendingProposal {
  instance: string;
  proposal: Proposal;
}

export function summary(proposal: Proposal): string {
  switch (proposal.kind) {
    case "egress":
      return `allow ${proposal.entry}`;
    case "routes":
      return `routes: ${proposal.routes.map(routeLine).join("; ") || "(none)"}`;
    case "capability": {
      const lines = proposal.dockerfile.split("\n").filter((line) => /^\s*RUN\s/i.test(line));
      return `new Dockerfile (${lines.length} RUN line${lines.length === 1 ? "" : "s"})`;
    }
  }
}

/** A route in one line with everything that decides where a token goes: path, upstream, scheme, slot. */
export function routeLine(route: RenderedRouteEntry): string {
  const roles = route.roles.length ? ` roles ${route.roles.join(",")}` : "";
  const allow = route.allow
    ? ` allow ${route.allow.map((rule) => `${rule.method} ${rule.path}`).join(",")}`
    : "";
  const tools = route.server_tools?.length ? ` server_tools ${route.server_tools.join(",")}` : "";
  return `${route.path} → ${route.upstream} (${route.auth_scheme} ${route.slot}${roles}${allow}${tools})`;
}

function age(createdAt: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(createdAt)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

/** One row per pending proposal, oldest first, with a header; ids first so scripts can cut them. */
export function queueTable(pending: readonly PendingProposal[], now: Date, width = 120): string[] {
  if (pending.length === 0) return ["no pending proposals"];
  const rows = pending.map(({ instance, proposal }) =>
    [
      proposal.id,
      instance,
      proposal.kind,
      age(proposal.createdAt, now),
      `${summary(proposal)} — ${oneLine(proposal.justification)}`,
    ].map(visible),
  );
  const header = ["ID", "BOTTLE", "KIND", "AGE", "REQUEST — JUSTIFICATION"];
  const widths = [0, 1, 2, 3].map((column) =>
    Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: readonly string[]) => {
    const line = row
      .slice(0, 4)
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .concat(row[4] ?? "")
      .join("  ");
    return line.length > width ? `${line.slice(0, width - 1)}…` : line;
  };
  return [format(header), ...rows.map(format)];
}

/**
 * The detail view: the diff of the change against the current policy first (what an approval
 * does), then who asks and why. The dashboard pages through it; nothing is cut.
 */
export function detail(entry: PendingProposal, before: string, after: string, now: Date): string[] {
  const { proposal } = entry;
  return [
    visible(
      `proposal ${proposal.id} · bottle ${entry.instance} · ${proposal.kind} · ${age(proposal.createdAt, now)} old · withdrawn ${proposal.deadline}`,
    ),
    "",
    "change:",
    ...changedOnly(lineDiff(before, after), 3).map((line) => `  ${visible(line)}`),
    "",
    ...(proposal.kind === "egress" ? [`refused URL: ${visible(proposal.url)}`, ""] : []),
    "justification:",
    ...visibleLines(proposal.justification)
      .split("\n")
      .map((line) => `  ${line}`),
  ];
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
