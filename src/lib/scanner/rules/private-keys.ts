import type { Rule } from "../types.ts";
import { rule } from "./define.ts";

/** Key material, not just a header: a doc that says `-----BEGIN RSA PRIVATE KEY-----` is fine. */
function hasKeyMaterial(body: string): boolean {
  const flat = body.replace(/\\[nr]/g, "\n");
  return /[A-Za-z0-9+/]{48}/.test(flat.replace(/\s+/g, ""));
}

// The body class also admits header lines (Proc-Type, DEK-Info, Version, Comment) and literal
// `\n` escapes of keys stored in JSON. One character class, greedy: no backtracking.
const BODY = String.raw`\s*(?<secret>(?:[A-Za-z0-9+/=\s\\:,.()]|-(?!----)){64,16000})`;

export const privateKeyRules: readonly Rule[] = [
  rule(
    "private-key",
    "Private key (PEM: RSA, EC, DSA, PKCS#8, encrypted, OpenSSH, PGP)",
    ["-----begin"],
    String.raw`-----BEGIN[ ]?(?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP|ANY|SSH2 ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----${BODY}`,
    { validate: hasKeyMaterial, allowPlaceholderLike: true },
  ),
  rule(
    "ssh2-private-key",
    "SSH2 (RFC 4716 / SSH.com) private key",
    ["---- begin ssh2 encrypted private key"],
    String.raw`---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----${BODY}`,
    { validate: hasKeyMaterial, allowPlaceholderLike: true },
  ),
  rule(
    "putty-private-key",
    "PuTTY private key (.ppk)",
    ["private-lines:"],
    String.raw`Private-Lines:[ ]{0,4}\d{1,3}(?:\r?\n|\\n)${BODY}`,
    { validate: hasKeyMaterial, allowPlaceholderLike: true },
  ),
];
