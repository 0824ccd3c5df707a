/**
 * DNS-style exfiltration check: data smuggled out as subdomain labels under an allowed wildcard
 * (`<hex>.files.example.org`). A label is judged only when it is long; it is refused when it is
 * long hex, or its Shannon entropy reaches the threshold, or it is nearly as varied and shaped
 * like encoded data (few vowels, digits strewn among letters). Labels and their concatenation are judged, so splitting data into short
 * labels does not help. Pure.
 */

export interface EntropyOptions {
  readonly minLength: number;
  /** Shannon bits per character at or above which a long label is refused. */
  readonly threshold: number;
}

function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

function letterDigitSwitches(text: string): number {
  let switches = 0;
  for (let i = 1; i < text.length; i++) {
    const a = /[0-9]/.test(text[i - 1] as string);
    const b = /[0-9]/.test(text[i] as string);
    if (a !== b) switches++;
  }
  return switches;
}

function looksEncoded(label: string, options: EntropyOptions): boolean {
  const text = label.toLowerCase();
  if (text.length < options.minLength) return false;
  if (/^[0-9a-f]+$/.test(text) && /[0-9]/.test(text) && /[a-f]/.test(text)) return true;
  const entropy = shannonEntropy(text);
  if (entropy >= options.threshold) return true;
  // Below the threshold but still varied: judge by shape. Words have vowels and keep digits
  // together (`eu-west-1`, `2024`); base32/base64 data has few vowels and digits strewn about.
  if (entropy < options.threshold - 0.75) return false;
  const letters = text.replace(/[^a-z]/g, "");
  const vowels = letters.replace(/[^aeiouy]/g, "").length;
  if (letters.length >= 8 && vowels / letters.length < 0.2) return true;
  return letterDigitSwitches(text) >= 4;
}

/** The first label (or joined run of labels) that looks like encoded data, else undefined. */
export function findEncodedLabel(labels: readonly string[], options: EntropyOptions): string | undefined {
  for (const label of labels) if (looksEncoded(label.replace(/-/g, ""), options)) return label;
  if (labels.length > 1) {
    const joined = labels.join("").replace(/-/g, "");
    if (joined.length >= options.minLength * 2 && looksEncoded(joined, options)) return labels.join(".");
  }
  return undefined;
}
