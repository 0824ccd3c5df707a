import { visible } from "../lib/terminal-text.ts";
import { type DashboardState, selectedIndex } from "./dashboard-state.ts";

import { type PendingProposal, queueTable } from "./render.ts";

export interface ScreenOptions {
  now: Date;
  width: number;
  height: number;
  /** The detail view of a proposal: its diff first, then who asks and why. */
  detail: (entry: PendingProposal) => string[];
  /** Every change an approval of the proposal makes, one item each (hosts, upstreams, slots, image). */
  changes: (entry: PendingProposal) => string[];
  /** An action running (a capability build can take minutes): what it is. */
  busy?: string | undefined;
}

/**
 * Renders the dashboard as lines of text, at most `width` columns and `height` rows, and the
 * detail view's scroll position clamped to what there is (the caller keeps it). Pure.
 */
export function renderScreen(
  state: DashboardState,
  options: ScreenOptions,
): { lines: string[]; scroll: number } {
  const { width, height } = options;
  const bottle = state.bottles[state.bottle];
  const header = [
    `claude-bottle dashboard · ${state.pending.length} pending · bottles: ${state.bottles.join(", ") || "(none running with supervise)"}`,
    `edits (A allowlist, R routes) go to: ${bottle ?? "-"}${state.bottles.length > 1 ? " (tab: next bottle)" : ""}`,
    "",
  ];
  const selected = state.pending[selectedIndex(state)];
  const detail = state.view === "detail" && selected !== undefined;
  const keys = detail
    ? "↑↓ space pgup/pgdn scroll · y approve · m modify in $EDITOR, then approve · n reject · esc back · q quit"
    : "↑↓ select · enter detail (diff) · y approve · m modify · n reject · A/R edit allowlist/routes · q quit";
  const confirming = state.pending.find((entry) => entry.proposal.id === state.confirm?.id);
  const footer = [
    "",
    ...(options.busy !== undefined
      ? [`${options.busy} … (Ctrl-C or q aborts)`]
      : confirming !== undefined
        ? confirmation(confirming, options.changes(confirming), width, Math.max(3, Math.floor(height / 3)))
        : [state.prompt ? `${state.prompt.label} (enter: reject, esc: cancel): ${state.prompt.text}` : keys]),
    state.message ?? "",
  ];
  const room = Math.max(2, height - header.length - footer.length);
  let shown: string[];
  let scroll = 0;
  if (detail) {
    // The title (which proposal y decides) stays on screen; the rest pages.
    const [title = "", ...body] = options.detail(selected);
    const pageRoom = Math.max(2, room - 1);
    scroll = Math.min(Math.max(0, state.scroll), Math.max(0, body.length - Math.max(1, pageRoom - 1)));
    shown = [title, ...paged(body, scroll, pageRoom)];
  } else {
    const traffic = trafficPane(state, room);
    const listRoom = Math.max(2, room - traffic.length);
    if (state.pending.length === 0) {
      shown = ["  no pending proposals"];
    } else {
      const [columns = "", ...rows] = queueTable(state.pending, options.now, width - 2);
      const at = selectedIndex(state);
      const marked = rows.map((line, index) => `${index === at ? ">" : " "} ${line}`);
      shown = [`  ${columns}`, ...scrolled(marked, Math.max(0, at), listRoom - 1)];
    }
    shown = [...shown, ...Array.from({ length: Math.max(0, listRoom - shown.length) }, () => ""), ...traffic];
  }
  // Every line made visible once more: whatever a proposal carries, the screen is text.
  const lines = [...header, ...shown, ...footer]
    .map(visible)
    .map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
  return { lines, scroll };
}

/** The live tail of a bottle's audit log, under the list: at most half the room. */
function trafficPane(state: DashboardState, room: number): string[] {
  const { traffic } = state;
  if (traffic === undefined || room < 8) return [];
  const lines = traffic.lines.slice(-(Math.floor(room / 2) - 2));
  return [
    "",
    `traffic of ${traffic.bottle} (latest; \`claude-bottle logs ${traffic.bottle} -f\` for all):`,
    ...(lines.length ? lines.map((line) => `  ${line}`) : ["  (nothing yet)"]),
  ];
}

/**
 * The confirmation: the id, the bottle and every change, made visible, then wrapped to the width;
 * when it needs more than `maxLines`, it says how much more there is and where to read it all.
 */
function confirmation(
  entry: PendingProposal,
  changes: readonly string[],
  width: number,
  maxLines: number,
): string[] {
  const { proposal } = entry;
  const text = visible(
    `approve ${proposal.id} (${proposal.kind}, bottle ${entry.instance}): ${changes.join("; ")}? y/enter: approve · esc/n: cancel`,
  );
  const lines: string[] = [];
  const step = Math.max(20, width - 1);
  for (let at = 0; at < text.length; at += step) lines.push(text.slice(at, at + step));
  if (lines.length <= maxLines) return lines;
  return [
    ...lines.slice(0, maxLines - 1),
    `… ${lines.length - maxLines + 1} more lines: esc, enter reads all`,
  ];
}

/** The detail's lines from `scroll` (clamped), in `room` rows; a last row says where it is. */
function paged(body: readonly string[], start: number, room: number): string[] {
  if (body.length <= room) return [...body];
  const visible = Math.max(1, room - 1);
  const end = start + visible;
  return [
    ...body.slice(start, end),
    `  — lines ${start + 1}–${end} of ${body.length}${end < body.length ? " · ↓/space for more" : ""}${start > 0 ? " · ↑/pgup back" : ""}`,
  ];
}

/**
 * The rows that fit in `room` lines, scrolled so the selected one is always shown; a last line
 * says how many rows are above and below.
 */
function scrolled(rows: readonly string[], selected: number, room: number): string[] {
  if (rows.length <= room) return [...rows];
  const visible = Math.max(1, room - 1);
  const start = Math.min(Math.max(0, selected - visible + 1), rows.length - visible);
  const below = rows.length - start - visible;
  return [...rows.slice(start, start + visible), `  … ${start} above, ${below} below`];
}
