import { shannonEntropy } from "../entropy.ts";
import { isPlaceholder } from "../placeholders.ts";
import type { Rule } from "../types.ts";
import { rule } from "./define.ts";

const PASSWORD_STOP_WORDS = new Set([
  "password",
  "passwd",
  "pass",
  "pwd",
  "secret",
  "user",
  "username",
  "test",
  "admin",
  "root",
  "guest",
  "postgres",
  "mysql",
  "token",
  "x-oauth-basic",
  "none",
  "null",
]);

/** RFC 2606 names reserved for documentation. */
const DOCUMENTATION_HOST = /^(?:[\w-]+\.)*example(?:\.(?:com|org|net))?$/i;

function isRealPassword(password: string): boolean {
  if (password.length < 3) return false;
  if (/^[$%{<[*]/.test(password)) return false;
  if (PASSWORD_STOP_WORDS.has(password.toLowerCase())) return false;
  return !isPlaceholder(password);
}

function decodesToCredentials(encoded: string): boolean {
  const decoded = Buffer.from(encoded, "base64").toString("latin1");
  if (!/^[\x20-\x7e]+$/.test(decoded)) return false;
  const colon = decoded.indexOf(":");
  return colon > 0 && isRealPassword(decoded.slice(colon + 1));
}

function isPlausibleJwtHeader(token: string): boolean {
  const header = token.slice(0, token.indexOf("."));
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
    return typeof parsed === "object" && parsed !== null && "alg" in parsed && parsed.alg !== "none";
  } catch {
    return false;
  }
}

export const urlAndHeaderRules: readonly Rule[] = [
  rule(
    "url-with-password",
    "URL or connection string with an embedded password",
    ["://"],
    String.raw`://[^\s:@/?#"'<>]{0,100}:(?<secret>[^\s@/?#"'<>]{1,200})@(?:[A-Za-z0-9_.-]{1,253}|\[[0-9a-fA-F:.]{2,50}\])`,
    {
      validate: (secret, match) =>
        isRealPassword(decodeURIComponentSafe(secret)) &&
        !DOCUMENTATION_HOST.test(match[0].slice(match[0].lastIndexOf("@") + 1)),
    },
  ),
  rule(
    "http-basic-auth",
    "HTTP Basic credentials",
    ["basic"],
    String.raw`(?i:basic)[ \t]{1,256}(?<secret>[A-Za-z0-9+/]{6,400}={0,2})(?![A-Za-z0-9+/=])`,
    { validate: decodesToCredentials },
  ),
  rule(
    "http-bearer-token",
    "HTTP Bearer token",
    ["bearer"],
    // Any run of spaces or tabs: a header parser folds them, the scanner must not be outrun.
    String.raw`(?i:bearer)[ \t]{1,256}(?<secret>[A-Za-z0-9._~+/-]{20,4000}={0,2})(?![A-Za-z0-9._~+/=-])`,
    { validate: (secret) => shannonEntropy(secret) >= 3 && /\d/.test(secret) },
  ),
  rule(
    "jwt",
    "JSON Web Token",
    ["eyj"],
    String.raw`(?<![A-Za-z0-9_-])(?<secret>eyJ[A-Za-z0-9_-]{10,2000}\.ey[A-Za-z0-9_-]{10,8000}\.[A-Za-z0-9_-]{16,2000})(?![A-Za-z0-9_-])`,
    { validate: isPlausibleJwtHeader },
  ),
];

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
