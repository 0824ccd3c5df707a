/**
 * Documentation examples and placeholders are not findings: a scanner that cries wolf on
 * `AKIAIOSFODNN7EXAMPLE` or `your-key-here` gets switched off.
 */
const PLACEHOLDER_WORDS =
  /example|sample|placeholder|dummy|changeme|change_me|change-me|redacted|your[_-]?(?:own|api|key|token|secret|password)|insert[_-]?your|replace[_-]?me|[_-]here\b|<[^>]*>|\$\{|\{\{|%[sd]\b|xxxx|\*\*\*\*|\.\.\.|fake|notreal|not[_-]a[_-]real/i;

/** A run of 6+ identical characters (`aaaaaa`, `000000`) is padding, not key material. */
const REPEATED = /(.)\1{5,}/;

const SEQUENCES = ["0123456789", "abcdefghij", "1234567890", "abcdef0123"];

export function isPlaceholder(secret: string): boolean {
  if (PLACEHOLDER_WORDS.test(secret)) return true;
  if (REPEATED.test(secret)) return true;
  const lower = secret.toLowerCase();
  return SEQUENCES.some((sequence) => lower.includes(sequence));
}
