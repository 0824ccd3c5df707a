import type { PendingProposal } from "./decide.ts";
import type { EditTarget } from "./operator-edit.ts";

/**
 * The interactive dashboard as a pure state machine: keys in, a new state and at most one effect
 * out. The terminal loop (dashboard-ui.ts) performs effects and feeds refreshed queues back in.
 */
export interface DashboardState {
  pending: PendingProposal[];
  /** Running supervised bottles, for operator edits. */
  bottles: string[];
  /** Index into `pending`. */
  selected: number;
  /** Index into `bottles`: where `A`/`R` edits go. */
  bottle: number;
  view: "list" | "detail";
  /** A line being typed: the reason of a rejection. */
  prompt?: { label: string; text: string; id: string } | undefined;
  /** The outcome of the last action, shown at the bottom. */
  message?: string | undefined;
}

export type Effect =
  | { kind: "approve"; id: string }
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

export function initialState(): DashboardState {
  return { pending: [], bottles: [], selected: 0, bottle: 0, view: "list" };
}

/** A refreshed queue: the selection follows the proposal it was on, when it is still pending. */
export function withQueue(
  state: DashboardState,
  pending: PendingProposal[],
  bottles: string[],
): DashboardState {
  const current = state.pending[state.selected]?.proposal.id;
  const found = pending.findIndex((entry) => entry.proposal.id === current);
  const selected = found === -1 ? Math.min(state.selected, Math.max(0, pending.length - 1)) : found;
  const view = state.view === "detail" && found === -1 ? "list" : state.view;
  const bottleName = state.bottles[state.bottle];
  const bottle = Math.max(0, bottleName === undefined ? 0 : bottles.indexOf(bottleName));
  const prompt =
    state.prompt && pending.some((entry) => entry.proposal.id === state.prompt?.id)
      ? state.prompt
      : undefined;
  return { ...state, pending, bottles, selected, view, bottle, prompt };
}

export function onKey(state: DashboardState, key: Key): { state: DashboardState; effect?: Effect } {
  if (key.ctrl && key.name === "c") return { state, effect: { kind: "quit" } };
  if (state.prompt !== undefined) return onPromptKey(state, state.prompt, key);
  const entry = state.pending[state.selected];
  const char = key.sequence ?? "";
  switch (key.name === undefined || key.name.length > 1 ? key.name : char) {
    case "q":
      return { state, effect: { kind: "quit" } };
    case "up":
    case "k":
      return { state: { ...state, selected: Math.max(0, state.selected - 1), message: undefined } };
    case "down":
    case "j":
      return {
        state: {
          ...state,
          selected: Math.min(Math.max(0, state.pending.length - 1), state.selected + 1),
          message: undefined,
        },
      };
    case "return":
    case "enter":
      return entry ? { state: { ...state, view: "detail", message: undefined } } : { state };
    case "escape":
    case "b":
      return { state: { ...state, view: "list", message: undefined } };
    case "tab":
      return {
        state: { ...state, bottle: state.bottles.length ? (state.bottle + 1) % state.bottles.length : 0 },
      };
    case "y":
      return entry ? { state, effect: { kind: "approve", id: entry.proposal.id } } : { state };
    case "m":
      return entry ? { state, effect: { kind: "modify", id: entry.proposal.id } } : { state };
    case "n":
      return entry
        ? {
            state: {
              ...state,
              prompt: { label: `reject ${entry.proposal.id}, reason`, text: "", id: entry.proposal.id },
            },
          }
        : { state };
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
