import { visible } from "../lib/terminal-text.ts";
import type { DashboardState } from "./dashboard-state.ts";
import { queueTable } from "./render.ts";

/** Renders the dashboard as lines of text, at most `width` columns and `height` rows. Pure. */
export function renderScreen(
  state: DashboardState,
  options: { now: Date; width: number; height: number; detail: (index: number) => string[] },
): string[] {
  const { width, height } = options;
  const bottle = state.bottles[state.bottle];
  const header = [
    `claude-bottle dashboard · ${state.pending.length} pending · bottles: ${state.bottles.join(", ") || "(none running with supervise)"}`,
    `edits (A allowlist, R routes) go to: ${bottle ?? "-"}${state.bottles.length > 1 ? " (tab: next bottle)" : ""}`,
    "",
  ];
  const detail = state.view === "detail" && state.pending[state.selected] !== undefined;
  const keys = detail
    ? "y approve · m modify in $EDITOR, then approve · n reject · esc back · q quit"
    : "↑↓ select · enter detail (diff) · y approve · m modify · n reject · A/R edit allowlist/routes · q quit";
  const footer = [
    "",
    state.prompt ? `${state.prompt.label} (enter: reject, esc: cancel): ${state.prompt.text}` : keys,
    state.message ?? "",
  ];
  const room = Math.max(2, height - header.length - footer.length);
  let shown: string[];
  if (detail) {
    const body = options.detail(state.selected);
    shown =
      body.length > room ? [...body.slice(0, room - 1), `… ${body.length - room + 1} more lines`] : body;
  } else if (state.pending.length === 0) {
    shown = ["  no pending proposals"];
  } else {
    const [columns = "", ...rows] = queueTable(state.pending, options.now, width - 2);
    const marked = rows.map((line, index) => `${index === state.selected ? ">" : " "} ${line}`);
    shown = [`  ${columns}`, ...scrolled(marked, state.selected, room - 1)];
  }
  // Every line made visible once more: whatever a proposal carries, the screen is text.
  return [...header, ...shown, ...footer]
    .map(visible)
    .map((line) => (line.length > width ? `${line.slice(0, width - 1)}…` : line));
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
