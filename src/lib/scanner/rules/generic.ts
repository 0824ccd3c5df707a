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
    /^[$%&@*#!]|^(?:process|os|env|self|this|config|settings|ENV|params|args|options|props|secrets|exports|module|window|document|globalThis|require|ctx|req|res|request|response|opts|cfg)\b/.test(
      value,
    )
  )
    return false;
  if (/[^\x21-\x7e]/.test(value)) return false;
  if (looksLikeCode(value)) return false;
  if (/^[a-zA-Z]+(?:[_-][a-zA-Z]+)*$/.test(value)) return false;
  if (/^\d+$/.test(value)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
  if (classes < 2) return false;
  return shannonEntropy(value) >= (value.length < 16 ? 2.8 : 3.2);
}

/**
 * `config.db.password`, `exports.id_pkcs9_at_challengePassword`, `CompositePrivateKey_1`,
 * `/Users/dev`: every part is made of words. `tfVm.pwm7jMHtZiHs` is not.
 */
function looksLikeCode(value: string): boolean {
  const segments = value
    .replace(/\(\)$/, "")
    .split(/\??\.|\/|::|->/)
    .filter((segment) => segment !== "");
  if (segments.length === 0 || !segments.every((segment) => /^[A-Za-z_$][\w$-]*$/.test(segment)))
    return false;
  const parts = segments.flatMap((segment) =>
    segment.split(
      /[_$-]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])/,
    ),
  );
  const words = parts.filter(
    (part) => part.length >= 4 && /^[A-Za-z][a-z]+$/.test(part) && /[aeiouy]/i.test(part),
  );
  // Short lowercase abbreviations (`cst`, `pkcs`, `id`) pass only beside real words.
  return parts.every(
    (part) =>
      part === "" ||
      /^\d{1,3}$/.test(part) ||
      /^[A-Z]{1,6}$/.test(part) ||
      (/^[A-Za-z][a-z]*$/.test(part) && /[aeiouy]/i.test(part)) ||
      (/^[a-z]{1,4}$/.test(part) && words.length > 0),
  );
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
