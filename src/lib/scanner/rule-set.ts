import { buildKeywordAutomaton, type KeywordAutomaton } from "./keyword-automaton.ts";
import { builtinRules } from "./rules/index.ts";
import type { Rule } from "./types.ts";

/** Rules plus the automaton that wakes them; built once per distinct rule list. */
export interface RuleSet {
  readonly rules: readonly Rule[];
  readonly automaton: KeywordAutomaton;
  /** keyword index → indexes of the rules it wakes */
  readonly rulesByKeyword: readonly (readonly number[])[];
  /** caller patterns without keywords: run over the whole text */
  readonly unanchored: readonly Rule[];
}

function buildRuleSet(rules: readonly Rule[], unanchored: readonly Rule[] = []): RuleSet {
  const keywordIndex = new Map<string, number>();
  const rulesByKeyword: number[][] = [];
  rules.forEach((rule, ruleIndex) => {
    for (const keyword of rule.keywords) {
      let index = keywordIndex.get(keyword);
      if (index === undefined) {
        index = rulesByKeyword.length;
        keywordIndex.set(keyword, index);
        rulesByKeyword.push([]);
      }
      const list = rulesByKeyword[index]!;
      if (!list.includes(ruleIndex)) list.push(ruleIndex);
    }
  });
  return { rules, automaton: buildKeywordAutomaton([...keywordIndex.keys()]), rulesByKeyword, unanchored };
}

let builtin: RuleSet | undefined;
const withExtras = new Map<string, RuleSet>();
const MAX_CACHED_EXTRA_SETS = 16;

export function ruleSetFor(extraPatterns: readonly { id: string; pattern: string }[] | undefined): RuleSet {
  builtin ??= buildRuleSet(builtinRules);
  if (extraPatterns === undefined || extraPatterns.length === 0) return builtin;
  const key = JSON.stringify(extraPatterns);
  const cached = withExtras.get(key);
  if (cached !== undefined) return cached;
  const extras = extraPatterns.map(({ id, pattern }): Rule => {
    let compiled: RegExp;
    try {
      compiled = new RegExp(pattern, "g");
    } catch (error) {
      throw new Error(`extra pattern ${id}: ${(error as Error).message}`, { cause: error });
    }
    return {
      id,
      description: `custom pattern ${id}`,
      keywords: [],
      pattern: compiled,
      allowPlaceholderLike: true,
    };
  });
  const set = buildRuleSet(builtinRules, extras);
  if (withExtras.size >= MAX_CACHED_EXTRA_SETS) withExtras.clear();
  withExtras.set(key, set);
  return set;
}
