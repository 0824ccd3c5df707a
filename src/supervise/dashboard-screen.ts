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
  let body: string[];
  let keys: string;
  if (state.view === "detail" && state.pending[state.selected] !== undefined) {
    body = options.detail(state.selected);
    keys = "y approve · m modify in $EDITOR, then approve · n reject · esc back · q quit";
  } else {
    const table = queueTable(state.pending, options.now, width - 2);
    body = state.pending.length
      ? [
          `  ${table[0] ?? ""}`,
          ...table.slice(1).map((line, index) => `${index === state.selected ? ">" : " "} ${line}`),
        ]
      : ["  no pending proposals"];
    keys =
      "↑↓ select · enter detail (diff) · y approve · m modify · n reject · A/R edit allowlist/routes · q quit";
  }
  const footer = [
    "",
    state.prompt ? `${state.prompt.label} (enter: reject, esc: cancel): ${state.prompt.text}` : keys,
    state.message ?? "",
  ];
  const room = Math.max(1, height - header.length - footer.length);
  const shown =
    body.length > room ? [...body.slice(0, room - 1), `… ${body.length - room + 1} more lines`] : body;
  return [...header, ...shown, ...footer].map((line) =>
    line.length > width ? `${line.slice(0, width - 1)}…` : line,
  );
}
