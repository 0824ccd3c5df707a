import type { Rule } from "../types.ts";

/** Lowercase keyword = the literal text a pattern starts with. */
export function rule(
  id: string,
  description: string,
  keywords: readonly string[],
  source: string,
  extra: Partial<Pick<Rule, "validate" | "allowPlaceholderLike" | "vetoOnInvalid">> & { flags?: string } = {},
): Rule {
  const { flags = "", ...rest } = extra;
  return {
    id,
    description,
    keywords: keywords.map((keyword) => keyword.toLowerCase()),
    pattern: new RegExp(source, `y${flags}`),
    ...rest,
  };
}

/** Tokens whose fixed prefix is the keyword: `prefixed("ghp_", "[A-Za-z0-9]{36}")`. */
export function prefixed(
  id: string,
  description: string,
  prefixes: readonly string[],
  body: string,
  extra: Parameters<typeof rule>[4] = {},
): Rule {
  const alternatives = prefixes.map(escapeRegex).join("|");
  return rule(
    id,
    description,
    prefixes,
    String.raw`(?<![A-Za-z0-9_])(?<secret>(?:${alternatives})${body})(?![A-Za-z0-9_-])`,
    extra,
  );
}

/**
 * A value that only means something next to a word: `DATADOG_API_KEY = "…"`. The keyword may sit
 * anywhere in the name; the value must follow an assignment within a few characters.
 */
export function contextual(
  id: string,
  description: string,
  keywords: readonly string[],
  value: string,
  extra: Parameters<typeof rule>[4] = {},
): Rule {
  const alternatives = keywords.map(escapeRegex).join("|");
  return rule(
    id,
    description,
    keywords,
    String.raw`${KEYWORD_START}(?i:${alternatives})${ASSIGNMENT}(?<secret>${value})(?![A-Za-z0-9_+/=-])`,
    extra,
  );
}

/**
 * A keyword starts a name (`DB_PASSWORD`, `db-password`) or a camel-case hump (`dbPassword`);
 * never the middle of a base64 line that happens to spell `pwd`.
 */
export const KEYWORD_START = String.raw`(?:(?<![A-Za-z0-9+/])|(?<=[a-z])(?=[A-Z]))`;

/** Rest of an identifier, optional closing quote, an assignment operator, optional opening quote. */
export const ASSIGNMENT = String.raw`[\w.-]{0,40}?["'\]]{0,2}[ \t]{0,8}(?:=|:=|=>|:|->)[ \t]{0,8}["'\x60]?`;

export function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
