import { shannonEntropy } from "../entropy.ts";
import type { Rule } from "../types.ts";
import { ASSIGNMENT, escapeRegex, KEYWORD_START, rule } from "./define.ts";

const KEYWORDS = [
  "password",
  "passwd",
  "passphrase",
  "pwd",
  "secret",
  "api_key",
  "apikey",
  "api-key",
  "access_key",
  "accesskey",
  "access-key",
  "auth_token",
  "authtoken",
  "access_token",
  "accesstoken",
  "refresh_token",
  "private_key",
  "privatekey",
  "credential",
  "token",
];

const STOP_WORDS = new Set([
  "password",
  "passwd",
  "secret",
  "token",
  "string",
  "undefined",
  "null",
  "none",
  "true",
  "false",
  "required",
  "optional",
  "function",
  "return",
  "default",
  "redacted",
]);

/**
 * `password = "…"`-style assignments. Names alone prove nothing (code is full of `token`
 * variables), so the value must look random and must not be code: a member access, a call,
 * a template or environment reference, a constant name.
 */
function looksLikeSecretValue(value: string): boolean {
  if (value.length < 8) return false;
  if (STOP_WORDS.has(value.toLowerCase())) return false;
  if (
    /^[$%&@*#!]|^(?:process|os|env|self|this|config|settings|ENV|params|args|options|props|secrets)\b/.test(
      value,
    )
  )
    return false;
  // `config.db.password` is code; `tfVm.pwm7jMHtZiHs` (digits inside) is a password.
  if (/^[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)+(?:\(\))?$/.test(value)) return false;
  if (/^[a-zA-Z]+(?:[_-][a-zA-Z]+)*$/.test(value)) return false;
  if (/^\d+$/.test(value)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  if (classes < 2) return false;
  return shannonEntropy(value) >= (value.length < 16 ? 2.8 : 3.2);
}

export const genericRules: readonly Rule[] = [
  rule(
    "generic-secret-assignment",
    "Password, secret or API key assigned in code or configuration",
    KEYWORDS,
    String.raw`${KEYWORD_START}(?i:${KEYWORDS.map(escapeRegex).join("|")})${ASSIGNMENT}(?<secret>[^\s"'\x60,;(){}<>\[\]\\]{8,200})(?=$|[\s"'\x60,;)}\]\\])`,
    { validate: looksLikeSecretValue },
  ),
];
