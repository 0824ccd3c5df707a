import assert from "node:assert/strict";
import { test } from "node:test";
import { fingerprintToken, scan } from "../../../src/lib/scanner/index.ts";

/**
 * No catastrophic backtracking: scanning 16x more pathological input may cost at most 64x more
 * time (linear is 16x, quadratic 256x). Both sizes are timed in this run, best of five, and a
 * failing pair is measured once more, so the bound holds on a slow or busy machine (other tests
 * and containers share its cores) while any super-linear growth still fails by a wide margin.
 */
const SMALL = 16 * 1024;
const GROWTH = 16;
const MAX_RATIO = 64;

const repeat = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

const PATHOLOGICAL: Record<string, (size: number) => string> = {
  "plain letters": (n) => "a".repeat(n),
  "one base64 run": (n) => repeat("QUJD", n),
  "keyword storm": (n) => repeat("password=token:secret=", n),
  "assignment without value end": (n) => `password = "${"a1B2".repeat(n / 4)}`,
  "unterminated private key": (n) =>
    `-----BEGIN RSA PRIVATE KEY-----\n${repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", n)}`,
  "repeated key headers": (n) => repeat("-----BEGIN PRIVATE KEY-----\nAAAA", n),
  "url user without host": (n) => `https://${repeat("a:", n)}`,
  "scheme storm": (n) => repeat("://a:b", n),
  "jwt-like dots": (n) => repeat("eyJhbGciOiJIUzI1NiJ9.", n),
  "percent escapes": (n) => repeat("%41%2", n),
  "json escapes": (n) => repeat('\\u0041\\"', n),
  "prefix storm": (n) => repeat("ghp_sk-ant-api03-AKIAxoxb-", n),
  "basic auth chain": (n) => repeat("Basic QUJD ", n),
  "nested base64": (n) => {
    let text = "password=Zx9!kQ2#Lm";
    while (text.length < n) text = Buffer.from(text).toString("base64");
    return text.slice(0, n);
  },
  "long line of assignments": (n) => repeat('api_key: "', n),
};

function bestOf5(run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return Math.max(best, 0.05);
}

const options = { knownTokens: [fingerprintToken("slot", "tok_3xG9qLmP2vR8sT4wZ7yB1nC6")] };

for (const [name, make] of Object.entries(PATHOLOGICAL)) {
  test(`scanning ${name} takes time linear in its size`, () => {
    const small = make(SMALL);
    const large = make(SMALL * GROWTH);
    scan(small, options);
    const measure = () => {
      const smallMs = bestOf5(() => scan(small, options));
      return { smallMs, largeMs: bestOf5(() => scan(large, options)) };
    };
    let { smallMs, largeMs } = measure();
    if (largeMs / smallMs > MAX_RATIO) ({ smallMs, largeMs } = measure());
    assert.ok(
      largeMs / smallMs <= MAX_RATIO,
      `${name}: ${GROWTH}x input took ${(largeMs / smallMs).toFixed(1)}x time (${smallMs.toFixed(1)} → ${largeMs.toFixed(1)} ms)`,
    );
  });
}
