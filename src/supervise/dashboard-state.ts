import { proposalDigest } from "../contracts/supervise.ts";
import type { EditTarget } from "./operator-edit.ts";
import type { PendingProposal } from "./render.ts";

/**
 * The interactive dashboard as a pure state machine: keys in, a new state and at most one effect
 * out. The terminal loop (dashboard-ui.ts) performs effects and feeds refreshed queues back in.
 *
 * A decision acts on the proposal the operator chose, by id, and only after they confirmed it
 * with its summary on screen: a refresh never moves the selection to another proposal (one that
 * goes leaves nothing selected), and ↓ in the detail view scrolls it.
 */
export interface DashboardState {
  pending: PendingProposal[];
  /** Running supervised bottles, for operator edits. */
  bottles: string[];
  /** The selected proposal's id; undefined when none is (nothing pending, or it went). */
  selectedId?: string | undefined;
  /** Index into `bottles`: where `A`/`R` edits go. */
  bottle: number;
  view: "list" | "detail";
  /** First line of the detail view on screen. */
  scroll: number;
  /** A line being typed: the reason of a rejection. */
  prompt?: { label: string; text: string; id: string } | undefined;
  /** An approval waiting for its confirmation (y again), of the proposal as shown (its digest). */
  confirm?: { id: string; digest: string } | undefined;
  /** The outcome of the last action, shown at the bottom. */
  message?: string | undefined;
  /** The latest audit lines of the bottle the list is about (logs/format.ts lines). */
  traffic?: { bottle: string; lines: string[] } | undefined;
}

export type Effect =
  | { kind: "approve"; id: string; digest: string }
  | { kind: "modify"; id: string }
  | { kind: "reject"; id: string; reason: string }
  | { kind: "edit"; instance: string; what: EditTarget }
  | { kind: "quit" };

/** What node:readline's keypress event gives: the key's name and the text it typed. */
export interface Key {
  name?: string | undefined;
  sequence?: string | undefined;
  ctrl?: boolean | undefined;
  shift?: boolean | undefined;
}

/** Lines the detail view scrolls by for a page key; the screen clamps to what there is. */
const PAGE_LINES = 10;

export function initialState(): DashboardState {
  return { pending: [], bottles: [], bottle: 0, view: "list", scroll: 0 };
}

/** The bottle whose traffic the list shows: the selected proposal's, else the one edits go to. */
export function trafficBottle(state: DashboardState): string | undefined {
  return state.pending[selectedIndex(state)]?.instance ?? state.bottles[state.bottle];
}

export function selectedIndex(state: DashboardState): number {
  return state.pending.findIndex((entry) => entry.proposal.id === state.selectedId);
}

/**
 * A refreshed queue. The selection stays on its proposal; when that one is gone, nothing is
 * selected (and a confirmation or reason for it is dropped) until the operator picks again. Only
 * a list that was empty selects its first arrival by itself.
 */
export function withQueue(
  state: DashboardState,
  pending: PendingProposal[],
  bottles: string[],
): DashboardState {
  const stillThere = (id: string | undefined) =>
    id !== undefined && pending.some((entry) => entry.proposal.id === id);
  const bottleName = state.bottles[state.bottle];
  const bottle = Math.max(0, bottleName === undefined ? 0 : bottles.indexOf(bottleName));
  const next: DashboardState = {
    ...state,
    pending,
    bottles,
    bottle,
    prompt: stillThere(state.prompt?.id) ? state.prompt : undefined,
    confirm: stillThere(state.confirm?.id) ? state.confirm : undefined,
  };
  if (stillThere(state.selectedId)) return next;
  if (state.selectedId !== undefined)
    return {
      ...next,
      selectedId: undefined,
      view: "list",
      scroll: 0,
      message: `proposal ${state.selectedId} is no longer pending (decided, withdrawn or timed out); select another with ↑↓`,
    };
  const first = state.pending.length === 0 ? pending[0]?.proposal.id : undefined;
  return { ...next, selectedId: first };
}

export function onKey(state: DashboardState, key: Key): { state: DashboardState; effect?: Effect } {
  if (key.ctrl && key.name === "c") return { state, effect: { kind: "quit" } };
  if (state.prompt !== undefined) return onPromptKey(state, state.prompt, key);
  if (state.confirm !== undefined) return onConfirmKey(state, state.confirm, key);
  const entry = state.pending[selectedIndex(state)];
  const char = key.sequence ?? "";
  const name = key.name === undefined || key.name.length > 1 ? key.name : char;
  if (state.view === "detail") {
    const scrolled = scrollKey(state, name);
    if (scrolled !== undefined) return { state: scrolled };
  }
  switch (name) {
    case "q":
      return { state, effect: { kind: "quit" } };
    case "up":
    case "k":
      return { state: { ...select(state, -1), message: undefined } };
    case "down":
    case "j":
      return { state: { ...select(state, 1), message: undefined } };
    case "return":
    case "enter":
      return entry ? { state: { ...state, view: "detail", scroll: 0, message: undefined } } : { state };
    case "escape":
    case "b":
      return { state: { ...state, view: "list", message: undefined } };
    case "tab":
      return {
        state: { ...state, bottle: state.bottles.length ? (state.bottle + 1) % state.bottles.length : 0 },
      };
    case "y":
      return entry
        ? {
            state: {
              ...state,
              confirm: { id: entry.proposal.id, digest: proposalDigest(entry.proposal) },
              message: undefined,
            },
          }
        : { state: nothingSelected(state) };
    case "m":
      return entry
        ? { state, effect: { kind: "modify", id: entry.proposal.id } }
        : { state: nothingSelected(state) };
    case "n":
      return entry
        ? {
            state: {
              ...state,
              prompt: { label: `reject ${entry.proposal.id}, reason`, text: "", id: entry.proposal.id },
            },
          }
        : { state: nothingSelected(state) };
    case "A":
    case "R": {
      const instance = state.bottles[state.bottle];
      if (instance === undefined)
        return { state: { ...state, message: "no running supervised bottle to edit" } };
      return { state, effect: { kind: "edit", instance, what: char === "A" ? "allowlist" : "routes" } };
    }
    default:
      return { state };
  }
}

/** ↑↓ from the selection; with nothing selected, ↓ picks the first and ↑ the last. */
function select(state: DashboardState, step: 1 | -1): DashboardState {
  const { length } = state.pending;
  if (length === 0) return state;
  const at = selectedIndex(state);
  const index = at === -1 ? (step === 1 ? 0 : length - 1) : Math.min(length - 1, Math.max(0, at + step));
  return { ...state, selectedId: state.pending[index]?.proposal.id };
}

function nothingSelected(state: DashboardState): DashboardState {
  return {
    ...state,
    message: state.pending.length ? "no proposal selected: choose one with ↑↓" : "nothing is pending",
  };
}

/** Keys of the detail view's pager; undefined for the others. */
function scrollKey(state: DashboardState, name: string | undefined): DashboardState | undefined {
  const by = (lines: number) => ({ ...state, scroll: Math.max(0, state.scroll + lines) });
  switch (name) {
    case "down":
    case "j":
      return by(1);
    case "up":
    case "k":
      return by(-1);
    case "pagedown":
    case "space":
    case " ":
      return by(PAGE_LINES);
    case "pageup":
      return by(-PAGE_LINES);
    case "home":
    case "g":
      return { ...state, scroll: 0 };
    case "end":
    case "G":
      return { ...state, scroll: Number.MAX_SAFE_INTEGER };
    default:
      return undefined;
  }
}

function onConfirmKey(
  state: DashboardState,
  confirm: NonNullable<DashboardState["confirm"]>,
  key: Key,
): { state: DashboardState; effect?: Effect } {
  const char = key.sequence ?? "";
  if (char === "y" || key.name === "return" || key.name === "enter")
    return {
      state: { ...state, confirm: undefined },
      effect: { kind: "approve", id: confirm.id, digest: confirm.digest },
    };
  if (char === "n" || char === "q" || key.name === "escape")
    return { state: { ...state, confirm: undefined, message: `approval of ${confirm.id} cancelled` } };
  return { state };
}

function onPromptKey(
  state: DashboardState,
  prompt: NonNullable<DashboardState["prompt"]>,
  key: Key,
): { state: DashboardState; effect?: Effect } {
  if (key.name === "escape")
    return { state: { ...state, prompt: undefined, message: "rejection cancelled" } };
  if (key.name === "return" || key.name === "enter") {
    const reason = prompt.text.trim();
    if (reason === "") return { state: { ...state, message: "give a reason: the agent reads it" } };
    return { state: { ...state, prompt: undefined }, effect: { kind: "reject", id: prompt.id, reason } };
  }
  if (key.name === "backspace")
    return { state: { ...state, prompt: { ...prompt, text: prompt.text.slice(0, -1) } } };
  const char = key.sequence ?? "";
  if (char.length === 1 && char >= " " && char !== "\x7f")
    return { state: { ...state, prompt: { ...prompt, text: prompt.text + char } } };
  return { state };
}
