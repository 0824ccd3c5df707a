import type { Rule } from "../types.ts";
import { contextualRules } from "./contextual.ts";
import { genericRules } from "./generic.ts";
import { privateKeyRules } from "./private-keys.ts";
import { providerRules } from "./providers.ts";
import { secretlintPresetRules } from "./secretlint-preset.ts";
import { urlAndHeaderRules } from "./urls-and-headers.ts";

/** Specific rules first: when two rules report the same secret, the first one wins. */
export const builtinRules: readonly Rule[] = [
  ...privateKeyRules,
  ...secretlintPresetRules,
  ...providerRules,
  ...urlAndHeaderRules,
  ...contextualRules,
  ...genericRules,
];
