import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { proposalDigest } from "../../../src/contracts/supervise.ts";
import { renderScreen } from "../../../src/supervise/dashboard-screen.ts";
import {
  type DashboardState,
  initialState,
  onKey,
  withQueue,
} from "../../../src/supervise/dashboard-state.ts";
import type { PendingProposal } from "../../../src/supervise/render.ts";

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
const Y = { name: "y", sequence: "y" };
const DIGEST_A = proposalDigest(pending("aaaaaaaa").proposal);
const screen = (
  state: DashboardState,
  options: { width?: number; height?: number; detail?: () => string[]; changes?: () => string[] } = {},
) =>
  renderScreen(state, {
    now: new Date("2025-01-01T12:00:00Z"),
    width: options.width ?? 100,
    height: options.height ?? 20,
    detail: options.detail ?? (() => []),
    changes: options.changes ?? (() => []),
  }).lines;

describe("dashboard keys", () => {
  it("moves the selection within the list and opens the detail of the selected proposal", () => {
    const state = press(two, { name: "down" }, { name: "down" }, { name: "return" });
    assert.equal(state.selectedId, "bbbbbbbb");
    assert.equal(state.view, "detail");
    assert.equal(press(state, { name: "escape" }).view, "list");
    assert.equal(press(two, { name: "up" }).selectedId, "aaaaaaaa");
  });

  it("scrolls the detail view with ↓/j/space: the selection, and so y, stay on the proposal shown", () => {
    const detail = press(two, { name: "return" });
    const scrolled = press(
      detail,
      { name: "down" },
      { name: "j", sequence: "j" },
      { name: "space", sequence: " " },
    );
    assert.equal(scrolled.selectedId, "aaaaaaaa");
    assert.equal(scrolled.scroll, 12);
    assert.equal(press(scrolled, { name: "pageup" }, { name: "up" }).scroll, 1);
    assert.deepEqual(onKey(press(scrolled, Y), Y).effect, {
      kind: "approve",
      id: "aaaaaaaa",
      digest: DIGEST_A,
    });
  });

  it("approves only after a confirmation of the same proposal; esc cancels; modify and quit take one key", () => {
    const asked = press(two, Y);
    assert.deepEqual(asked.confirm, { id: "aaaaaaaa", digest: DIGEST_A });
    assert.equal(onKey(two, Y).effect, undefined, "the first y only asks");
    assert.deepEqual(onKey(asked, Y).effect, { kind: "approve", id: "aaaaaaaa", digest: DIGEST_A });
    assert.deepEqual(onKey(asked, { name: "return" }).effect, {
      kind: "approve",
      id: "aaaaaaaa",
      digest: DIGEST_A,
    });
    assert.equal(press(asked, { name: "escape" }).confirm, undefined);
    assert.equal(onKey(asked, { name: "down" }).effect, undefined, "other keys do nothing while asking");
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
    assert.equal(refreshed.selectedId, "bbbbbbbb");
  });

  it("selects nothing when the selected proposal goes: y cannot land on another one", () => {
    for (const state of [two, press(two, Y), press(two, { name: "return" })]) {
      const refreshed = withQueue(state, [pending("bbbbbbbb")], ["b1"]);
      assert.equal(refreshed.selectedId, undefined);
      assert.equal(refreshed.confirm, undefined, "a confirmation for it is dropped");
      assert.equal(refreshed.view, "list");
      assert.match(refreshed.message ?? "", /aaaaaaaa is no longer pending/);
      assert.equal(onKey(refreshed, Y).effect, undefined);
      assert.equal(press(refreshed, Y).confirm, undefined);
      assert.match(press(refreshed, Y).message ?? "", /no proposal selected/);
      // The operator picks again, explicitly.
      assert.equal(press(refreshed, { name: "down" }).selectedId, "bbbbbbbb");
    }
  });

  it("selects the first arrival only when the list was empty", () => {
    const arrived = withQueue(initialState(), [pending("aaaaaaaa")], ["b1"]);
    assert.equal(arrived.selectedId, "aaaaaaaa");
    const gone = withQueue(arrived, [], ["b1"]);
    assert.equal(withQueue(gone, [pending("cccccccc")], ["b1"]).selectedId, "cccccccc");
  });

  it("leaves the detail view and drops the prompt when the proposal is gone (decided elsewhere or timed out)", () => {
    const state = press(two, { name: "return" }, { name: "n", sequence: "n" });
    const refreshed = withQueue(state, [pending("bbbbbbbb")], ["b1"]);
    assert.equal(refreshed.view, "list");
    assert.equal(refreshed.prompt, undefined);
  });
});

describe("renderScreen", () => {
  it("lists proposals oldest first with the selection marked, within the terminal's size", () => {
    const lines = screen(press(two, { name: "down" }), { width: 60, height: 10 });
    assert.ok(lines.length <= 10);
    assert.ok(lines.every((line) => line.length <= 60));
    assert.match(lines.find((line) => line.includes("bbbbbbbb")) ?? "", /^> /);
    assert.match(lines.find((line) => line.includes("aaaaaaaa")) ?? "", /^ {2}/);
  });

  it("shows an agent's escape codes as text, in the list and in the detail view (no forged rows)", () => {
    const forged = pending("cccccccc");
    forged.proposal.justification = "\x1b[2K\r> aaaaaaaa  b1  egress  allow pypi.org:443\x1b]0;t\x07";
    const state = withQueue(initialState(), [forged], ["b1"]);
    const list = screen(state, { width: 200, height: 10 });
    const detail = screen(press(state, { name: "return" }), {
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
    const lines = screen(state, { detail: () => ["detail of aaaaaaaa", "  +a.test:443"] });
    assert.ok(lines.includes("detail of aaaaaaaa"));
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
    const lines = screen(press(many, ...downs), { height: 14 });
    assert.ok(lines.length <= 14);
    assert.match(lines.find((line) => line.includes(ids[29]!)) ?? "", /^> /);
    assert.ok(!lines.some((line) => line.includes(ids[0]!)));
    assert.ok(lines.some((line) => /… \d+ above, \d+ below$/.test(line)));
    // Back at the top, the first proposal is shown again.
    const top = screen(press(many, ...downs, ...downs.map(() => ({ name: "up" }))), { height: 14 });
    assert.match(top.find((line) => line.includes(ids[0]!)) ?? "", /^> /);
    assert.ok(top.some((line) => /… 0 above, \d+ below$/.test(line)));
  });

  it("pages through a long detail: every line can be reached, and it says where it is", () => {
    const body = Array.from({ length: 50 }, (_, index) => `line ${index}`);
    const top = screen(press(two, { name: "return" }), { width: 80, height: 12, detail: () => body });
    assert.equal(top.length, 12);
    assert.ok(top.includes("line 0"));
    assert.ok(top.some((line) => /— lines 1–\d+ of 49 · ↓\/space for more$/.test(line)));
    const end = press(two, { name: "return" }, ...Array.from({ length: 10 }, () => ({ name: "pagedown" })));
    const rendered = renderScreen(end, {
      now: new Date(),
      width: 80,
      height: 12,
      detail: () => body,
      changes: () => [],
    });
    assert.ok(rendered.lines.includes("line 49"), "the last line is reachable");
    assert.ok(rendered.lines.includes("line 0"), "the title stays on screen");
    assert.ok(!rendered.lines.includes("line 1"));
    assert.ok(rendered.scroll < 50, "the scroll position is clamped to the text");
  });

  it("says where to read the rest when the changes do not fit, and shows their escapes as text", () => {
    const changes = Array.from({ length: 40 }, (_, index) => `Dockerfile +RUN step ${index} \x01\x01\x01`);
    const lines = screen(press(two, Y), { width: 60, height: 24, changes: () => changes });
    assert.ok(lines.length <= 24, String(lines.length));
    assert.ok(
      lines.some((line) => /approve aaaaaaaa \(egress/.test(line)),
      "the id stays on screen",
    );
    assert.ok(lines.some((line) => /… \d+ more lines: esc, enter reads all$/.test(line)));
    assert.ok(lines.every((line) => !TERMINAL_CONTROL.test(line)));
  });

  it("asks for a confirmation naming the proposal, its bottle and every change, wrapped, never cut", () => {
    const changes = [
      "route +/gh → https://api.github.com (token CRED_PROXY_TOKEN_0)",
      "egress.allowlist +api.github.com",
      "Dockerfile +RUN apt-get install -y jq",
    ];
    const lines = screen(press(two, Y), { width: 50, changes: () => changes });
    const text = lines.join("");
    assert.ok(lines.every((line) => line.length <= 50));
    assert.match(text, /approve aaaaaaaa \(egress, bottle b1\)/);
    for (const change of changes) assert.ok(text.includes(change), change);
    assert.match(text, /y\/enter: approve · esc\/n: cancel/);
  });

  it("shows the latest traffic of the bottle under the list, as text", () => {
    const state = {
      ...two,
      traffic: { bottle: "b1", lines: ["GET https://a.example/ ok", "\x1b[2Jforged"] },
    };
    const lines = screen(state, { height: 30 });
    const title = lines.findIndex((line) => line.startsWith("traffic of b1 (latest;"));
    assert.ok(title > lines.findIndex((line) => line.includes("bbbbbbbb")), "below the proposals");
    assert.equal(lines[title + 1], "  GET https://a.example/ ok");
    assert.ok(lines.every((line) => !TERMINAL_CONTROL.test(line)));
  });

  it("says what runs while an action is busy, and how to abort it", () => {
    const lines = renderScreen(two, {
      now: new Date(),
      width: 100,
      height: 20,
      detail: () => [],
      changes: () => [],
      busy: "approve aaaaaaaa",
    }).lines;
    assert.ok(lines.includes("approve aaaaaaaa … (Ctrl-C or q aborts)"));
  });
});
