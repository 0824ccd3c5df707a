/**
 * Aho-Corasick automaton over ASCII, case-insensitive, compiled to a dense DFA so the hot loop is
 * one table lookup per character. Non-ASCII characters map to symbol 0, which no keyword uses.
 */
const ALPHABET = 128;

export interface KeywordAutomaton {
  /** delta[state * 128 + symbol] → next state */
  readonly delta: Uint16Array | Int32Array;
  /** for each state, indexes of keywords ending there (including via suffix links) */
  readonly outputs: readonly (readonly number[])[];
  /** hasOutput[state] === 1 when some keyword ends in that state */
  readonly hasOutput: Uint8Array;
  readonly keywords: readonly string[];
}

function symbolOf(code: number): number {
  if (code >= 65 && code <= 90) return code + 32;
  return code < ALPHABET ? code : 0;
}

export function buildKeywordAutomaton(keywords: readonly string[]): KeywordAutomaton {
  const goto: number[][] = [[]];
  const outputs: number[][] = [[]];
  keywords.forEach((keyword, index) => {
    let state = 0;
    for (const char of keyword) {
      const symbol = symbolOf(char.charCodeAt(0));
      if (symbol === 0) throw new Error(`keyword ${JSON.stringify(keyword)} is not ASCII`);
      let next = goto[state]![symbol];
      if (next === undefined) {
        next = goto.length;
        goto.push([]);
        outputs.push([]);
        goto[state]![symbol] = next;
      }
      state = next;
    }
    outputs[state]!.push(index);
  });

  const stateCount = goto.length;
  const delta =
    stateCount <= 65536 ? new Uint16Array(stateCount * ALPHABET) : new Int32Array(stateCount * ALPHABET);
  const fail = new Int32Array(stateCount);
  const queue: number[] = [];
  for (let symbol = 0; symbol < ALPHABET; symbol++) {
    const next = goto[0]![symbol];
    if (next !== undefined) {
      delta[symbol] = next;
      queue.push(next);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    const failState = fail[state]!;
    outputs[state]!.push(...outputs[failState]!);
    for (let symbol = 0; symbol < ALPHABET; symbol++) {
      const next = goto[state]![symbol];
      if (next === undefined) {
        delta[state * ALPHABET + symbol] = delta[failState * ALPHABET + symbol]!;
      } else {
        fail[next] = delta[failState * ALPHABET + symbol]!;
        delta[state * ALPHABET + symbol] = next;
        queue.push(next);
      }
    }
  }
  const hasOutput = new Uint8Array(stateCount);
  outputs.forEach((list, state) => {
    hasOutput[state] = list.length > 0 ? 1 : 0;
  });
  return { delta, outputs, hasOutput, keywords };
}
