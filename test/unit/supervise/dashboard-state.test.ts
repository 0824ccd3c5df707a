import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderScreen } from "../../../src/supervise/dashboard-screen.ts";
import {
  type DashboardState,
  initialState,
  onKey,
  withQueue,
} from "../../../src/supervise/dashboard-state.ts";
import type { PendingProposal } from "../../../src/supervise/decide.ts";
import { TERMINAL_CONTROL } from "../../helpers/terminal.ts";

function pending(id: string, instance = "b1", minutesAgo = 1): PendingProposal {
  const created = new Date(Date.parse("2025-01-01T12:00:00Z") - minutesAgo * 60_000).toISOString();
  return {
    instance,
    proposal: {
      version: 1,
      id,
      instance,
      createdAt: created,
      deadline: "2025-01-01T12:15:00.000Z",
      justification: `why ${id}`,
      kind: "egress",
      url: `https://${id}.test/`,
      entry: `${id}.test:443`,
    },
  };
}

const two = withQueue(initialState(), [pending("aaaaaaaa"), pending("bbbbbbbb")], ["b1", "b2"]);
const press = (state: DashboardState, ...keys: { name?: string; sequence?: string }[]) =>
  keys.reduce((current, key) => onKey(current, key).state, state);

describe("dashboard keys", () => {
  it("moves the selection within the list and opens the detail of the selected proposal", () => {
    const state = press(two, { name: "down" }, { name: "down" }, { name: "return" });
    assert.equal(state.selected, 1);
    assert.equal(state.view, "detail");
    assert.equal(press(state, { name: "escape" }).view, "list");
    assert.equal(press(two, { name: "up" }).selected, 0);
  });

  it("approves, modifies and quits with one key each", () => {
    assert.deepEqual(onKey(two, { name: "y", sequence: "y" }).effect, { kind: "approve", id: "aaaaaaaa" });
    assert.deepEqual(onKey(two, { name: "m", sequence: "m" }).effect, { kind: "modify", id: "aaaaaaaa" });
    assert.deepEqual(onKey(two, { name: "q", sequence: "q" }).effect, { kind: "quit" });
    assert.deepEqual(onKey(two, { name: "c", ctrl: true }).effect, { kind: "quit" });
  });

  it("rejects only with a typed reason; escape cancels", () => {
    let state = press(two, { name: "n", sequence: "n" });
    assert.equal(state.prompt?.id, "aaaaaaaa");
    assert.equal(onKey(state, { name: "return" }).effect, undefined, "an empty reason is refused");
    state = press(state, ...[..."no!x"].map((sequence) => ({ sequence })), { name: "backspace" });
    assert.equal(state.prompt?.text, "no!");
    assert.deepEqual(onKey(state, { name: "return" }).effect, {
      kind: "reject",
      id: "aaaaaaaa",
      reason: "no!",
    });
    assert.equal(press(state, { name: "escape" }).prompt, undefined);
    assert.equal(onKey(state, { name: "q", sequence: "q" }).effect, undefined, "q types, it does not quit");
  });

  it("sends operator edits to the chosen bottle; tab picks the next one", () => {
    assert.deepEqual(onKey(two, { name: "a", sequence: "A" }).effect, {
      kind: "edit",
      instance: "b1",
      what: "allowlist",
    });
    const next = press(two, { name: "tab" });
    assert.deepEqual(onKey(next, { name: "r", sequence: "R" }).effect, {
      kind: "edit",
      instance: "b2",
      what: "routes",
    });
    assert.equal(onKey(initialState(), { name: "a", sequence: "A" }).effect, undefined);
  });

  it("does nothing to decide when nothing is pending", () => {
    for (const sequence of ["y", "m", "n"])
      assert.equal(onKey(initialState(), { name: sequence, sequence }).effect, undefined);
  });
});

describe("a refreshed queue", () => {
  it("keeps the selection on the same proposal when older ones go", () => {
    const selected = press(two, { name: "down" });
    const refreshed = withQueue(selected, [pending("bbbbbbbb"), pending("cccccccc")], ["b1"]);
    assert.equal(refreshed.selected, 0);
    assert.equal(refreshed.pending[refreshed.selected]?.proposal.id, "bbbbbbbb");
  });

  it("leaves the detail view and drops the prompt when the proposal is gone (decided elsewhere or timed out)", () => {
    const state = press(two, { name: "return" }, { name: "n", sequence: "n" });
    const refreshed = withQueue(state, [pending("bbbbbbbb")], ["b1"]);
    assert.equal(refreshed.view, "list");
    assert.equal(refreshed.prompt, undefined);
  });
});

describe("renderScreen", () => {
  const now = new Date("2025-01-01T12:00:00Z");
  it("lists proposals oldest first with the selection marked, within the terminal's size", () => {
    const lines = renderScreen(press(two, { name: "down" }), {
      now,
      width: 60,
      height: 10,
      detail: () => [],
    });
    assert.ok(lines.length <= 10);
    assert.ok(lines.every((line) => line.length <= 60));
    assert.match(lines.find((line) => line.includes("bbbbbbbb")) ?? "", /^> /);
    assert.match(lines.find((line) => line.includes("aaaaaaaa")) ?? "", /^ {2}/);
  });

  it("shows an agent's escape codes as text, in the list and in the detail view (no forged rows)", () => {
    const forged = pending("cccccccc");
    forged.proposal.justification = "\x1b[2K\r> aaaaaaaa  b1  egress  allow pypi.org:443\x1b]0;t\x07";
    const state = withQueue(initialState(), [forged], ["b1"]);
    const list = renderScreen(state, { now, width: 200, height: 10, detail: () => [] });
    const detail = renderScreen(press(state, { name: "return" }), {
      now,
      width: 200,
      height: 10,
      detail: () => ["justification:", `  ${forged.proposal.justification}`],
    });
    for (const lines of [list, detail]) {
      assert.ok(
        lines.every((line) => !TERMINAL_CONTROL.test(line)),
        lines.join("\n"),
      );
      assert.ok(lines.some((line) => line.includes("\\x1b[2K")));
    }
  });

  it("shows the detail lines in the detail view and the reason being typed", () => {
    const state = press(two, { name: "return" }, { name: "n", sequence: "n" }, { sequence: "x" });
    const lines = renderScreen(state, {
      now,
      width: 100,
      height: 20,
      detail: (index) => [`detail of ${index}`, "  +a.test:443"],
    });
    assert.ok(lines.includes("detail of 0"));
    assert.ok(lines.some((line) => line.endsWith("reason (enter: reject, esc: cancel): x")));
  });

  it("scrolls a long list so the selected proposal is always on screen", () => {
    const ids = Array.from({ length: 40 }, (_, index) => `p${String(index).padStart(7, "0")}`);
    const many = withQueue(
      initialState(),
      ids.map((id, index) => pending(id, "b1", 40 - index)),
      ["b1"],
    );
    const downs = Array.from({ length: 29 }, () => ({ name: "down" }));
    const lines = renderScreen(press(many, ...downs), { now, width: 100, height: 14, detail: () => [] });
    assert.ok(lines.length <= 14);
    assert.match(lines.find((line) => line.includes(ids[29]!)) ?? "", /^> /);
    assert.ok(!lines.some((line) => line.includes(ids[0]!)));
    assert.ok(lines.some((line) => /… \d+ above, \d+ below$/.test(line)));
    // Back at the top, the first proposal is shown again.
    const top = renderScreen(press(many, ...downs, ...downs.map(() => ({ name: "up" }))), {
      now,
      width: 100,
      height: 14,
      detail: () => [],
    });
    assert.match(top.find((line) => line.includes(ids[0]!)) ?? "", /^> /);
    assert.ok(top.some((line) => /… 0 above, \d+ below$/.test(line)));
  });

  it("cuts a long detail to the screen and says how much is hidden", () => {
    const state = press(two, { name: "return" });
    const lines = renderScreen(state, {
      now,
      width: 80,
      height: 12,
      detail: () => Array.from({ length: 50 }, (_, index) => `line ${index}`),
    });
    assert.equal(lines.length, 12);
    assert.ok(lines.some((line) => /^… \d+ more lines$/.test(line)));
  });
});
