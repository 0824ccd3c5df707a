import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emitKeypressEvents } from "node:readline";
import { instanceLogDir, superviseDirs } from "../lib/home-layout.ts";
import { errorMessage } from "../lib/user-error.ts";
import { eventLine } from "../logs/format.ts";
import { recentEvents } from "../logs/read.ts";
import { changeItems, changeOf, changeText, currentText, parseChangeText, proposedText } from "./apply.ts";
import { renderScreen } from "./dashboard-screen.ts";
import {
  type DashboardState,
  type Effect,
  initialState,
  type Key,
  onKey,
  trafficBottle,
  withQueue,
} from "./dashboard-state.ts";
import { approve, listPending, reject, type SuperviseHost, superviseInstances } from "./decide.ts";

import { editableText, operatorEdit } from "./operator-edit.ts";
import { detail } from "./render.ts";

export interface DashboardTerminal {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  /** $VISUAL or $EDITOR; run through `sh -c` so it may carry arguments. */
  editor: string;
  refreshMs?: number;
}

const ALT_SCREEN_ON = "\x1b[?1049h\x1b[?25l";
const ALT_SCREEN_OFF = "\x1b[?25h\x1b[?1049l";

/**
 * The interactive dashboard: a full-screen list of pending proposals of every running bottle,
 * refreshed every `refreshMs`, a detail view that pages through the diff, and the decisions.
 * Resolves when the operator quits (q or Ctrl-C). One action at a time; while it runs, q and
 * Ctrl-C abort it (a capability build stops; the proposal stays pending) and quit once it has
 * stopped, and every other key is dropped.
 */
export async function runDashboard(host: SuperviseHost, terminal: DashboardTerminal): Promise<void> {
  const { input, output } = terminal;
  let state: DashboardState = initialState();
  let busy: { label: string; abort: AbortController } | undefined;
  let quitting = false;
  let closed = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const draw = () => {
    if (closed) return;
    const screen = renderScreen(state, {
      now: new Date(),
      width: output.columns || 100,
      height: output.rows || 30,
      busy: busy?.label,
      detail: (entry) => {
        const dir = superviseDirs(host.home, entry.instance).currentConfig;
        const change = changeOf(entry.proposal);
        return detail(entry, currentText(change.kind, dir), proposedText(change, dir), new Date());
      },
      changes: (entry) =>
        changeItems(changeOf(entry.proposal), superviseDirs(host.home, entry.instance).currentConfig),
    });
    state = { ...state, scroll: screen.scroll };
    output.write(`\x1b[H\x1b[2J${screen.lines.join("\r\n")}`);
  };
  const refresh = async () => {
    try {
      const [{ pending }, bottles] = await Promise.all([listPending(host), superviseInstances(host.engine)]);
      state = withQueue(state, pending, bottles);
      const bottle = trafficBottle(state);
      state = {
        ...state,
        traffic:
          bottle === undefined
            ? undefined
            : { bottle, lines: (await recentEvents(instanceLogDir(host.home, bottle), 20)).map(eventLine) },
      };
    } catch (error) {
      state = { ...state, message: `refresh failed: ${oneLineMessage(error)}` };
    }
    draw();
  };
  /** Leaves the screen to the editor, then takes it back. */
  const edit = (name: string, text: string): string | undefined => {
    const dir = mkdtempSync(join(tmpdir(), "claude-bottle-edit-"));
    const file = join(dir, name);
    try {
      writeFileSync(file, text, { mode: 0o600 });
      input.setRawMode?.(false);
      output.write(ALT_SCREEN_OFF);
      const result = spawnSync("sh", ["-c", `${terminal.editor} "$1"`, "editor", file], { stdio: "inherit" });
      output.write(ALT_SCREEN_ON);
      input.setRawMode?.(true);
      if (result.status !== 0) return undefined;
      const edited = readFileSync(file, "utf8");
      return edited === text ? undefined : edited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const perform = async (effect: Effect, signal: AbortSignal): Promise<string> => {
    switch (effect.kind) {
      case "approve":
        return `approved ${effect.id}: ${(await approve(host, effect.id, { signal, digest: effect.digest })).summary}`;
      case "reject":
        await reject(host, effect.id, effect.reason);
        return `rejected ${effect.id}`;
      case "modify": {
        const entry = state.pending.find((candidate) => candidate.proposal.id === effect.id);
        if (entry === undefined) return `${effect.id} is no longer pending`;
        const change = changeOf(entry.proposal);
        const edited = edit(`${effect.id}-${change.kind}.txt`, changeText(change));
        if (edited === undefined) return "unchanged or editor failed: nothing decided";
        const parsed = parseChangeText(
          change.kind,
          edited,
          superviseDirs(host.home, entry.instance).currentConfig,
        );
        if (!parsed.ok) return `not approved, the change is invalid: ${parsed.problems.join("; ")}`;
        return `approved ${effect.id} with changes: ${(await approve(host, effect.id, { change: parsed.change, signal })).summary}`;
      }
      case "edit": {
        const dir = superviseDirs(host.home, effect.instance).currentConfig;
        const edited = edit(`${effect.instance}-${effect.what}.txt`, editableText(effect.what, dir));
        if (edited === undefined) return `${effect.what} of ${effect.instance} unchanged`;
        const applied = await operatorEdit(host, effect.instance, effect.what, edited);
        return applied
          ? `${effect.instance}: ${applied.summary}`
          : `${effect.what} of ${effect.instance} unchanged`;
      }
      case "quit":
        return "";
    }
  };
  const onKeypress = (_text: string | undefined, key: Key | undefined) => {
    const pressed = key ?? { sequence: _text };
    if (busy !== undefined) {
      if ((pressed.ctrl && pressed.name === "c") || pressed.sequence === "q") {
        quitting = true;
        busy.abort.abort(new Error("aborted by the operator"));
        state = { ...state, message: "aborting; the dashboard quits once the action has stopped" };
        draw();
      }
      return;
    }
    const next = onKey(state, pressed);
    state = next.state;
    const effect = next.effect;
    if (effect === undefined) return draw();
    if (effect.kind === "quit") return close();
    const abort = new AbortController();
    busy = { label: `${effect.kind} ${"id" in effect ? effect.id : effect.instance}`, abort };
    draw();
    void perform(effect, abort.signal)
      .then(
        (message) => {
          // Decided here: nothing is selected until the operator picks the next one.
          const decided = "id" in effect && state.selectedId === effect.id;
          state = { ...state, message, view: "list", ...(decided ? { selectedId: undefined } : {}) };
        },
        (error: unknown) => {
          state = { ...state, message: `failed: ${oneLineMessage(error)}` };
        },
      )
      .finally(() => {
        busy = undefined;
        if (quitting) close();
      })
      .then(refresh);
  };
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    input.off("keypress", onKeypress);
    input.setRawMode?.(false);
    input.pause();
    output.write(ALT_SCREEN_OFF);
    finish();
  };

  emitKeypressEvents(input);
  input.setRawMode?.(true);
  input.resume();
  input.on("keypress", onKeypress);
  output.write(ALT_SCREEN_ON);
  output.on("resize", draw);
  const timer = setInterval(() => {
    if (!busy && state.prompt === undefined) void refresh();
  }, terminal.refreshMs ?? 1000);
  await refresh();
  await done;
  output.off("resize", draw);
}

function oneLineMessage(error: unknown): string {
  return errorMessage(error).replace(/\s+/g, " ");
}
