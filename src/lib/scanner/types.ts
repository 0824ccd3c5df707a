export interface Finding {
  ruleId: string;
  description: string;
  line: number;
  column: number;
  /** masked, never the full secret */
  excerpt: string;
  /** The secret's length in characters: what to mask from `column` on. */
  length: number;
}

export interface KnownToken {
  /** slot or name, for messages */
  name: string;
  /** lowercase hex SHA-256 of the token value */
  sha256: string;
  /** length of the token value in characters */
  length: number;
}

export interface ScanOptions {
  knownTokens?: readonly KnownToken[];
  extraPatterns?: readonly { id: string; pattern: string }[];
}

export interface KnownTokenHit {
  name: string;
  line: number;
  column: number;
}

/**
 * A detection rule. The engine only runs `pattern` where one of `keywords` occurs, with the
 * regex anchored (sticky) at that occurrence: every pattern must start by matching its keyword.
 * Context that precedes the keyword goes into a lookbehind with a named group `before`.
 */
export interface Rule {
  id: string;
  description: string;
  /** lowercase literals; any of them anywhere in the text wakes the rule */
  keywords: readonly string[];
  /** sticky (`y`) regex; the secret is the named group `secret`, else the whole match */
  pattern: RegExp;
  /** extra check on the secret (checksum, entropy, decodes to user:password ...) */
  validate?: (secret: string, match: RegExpExecArray) => boolean;
  /**
   * A match that fails `validate` is proof of a non-secret (a bad checksum): it also silences
   * the less specific rules that would report the same span.
   */
  vetoOnInvalid?: boolean;
  /** skip the placeholder filter (for rules whose secret is not a plain token, e.g. PEM) */
  allowPlaceholderLike?: boolean;
}

/** A finding before line/column are computed: offsets are in the original text. */
export interface RawFinding {
  /** rule order: when findings overlap, the lowest wins (known tokens: -1, always kept) */
  priority: number;
  ruleId: string;
  description: string;
  offset: number;
  end: number;
  secret: string;
  /** a proven non-secret that only suppresses overlapping findings of lower priority */
  veto?: true;
}
