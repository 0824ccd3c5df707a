import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { scan } from "../../../src/lib/scanner/index.ts";
import { type Corpus, generateCorpus } from "../../fixtures/scanner/generate.ts";

const MIN_RECALL = 0.95;
const MAX_FALSE_POSITIVE_RATE = 0.01;

const corpus: Corpus = JSON.parse(
  readFileSync(new URL("../../fixtures/scanner/corpus.json", import.meta.url), "utf8"),
);

test("the committed corpus is exactly what the seeded generator produces", () => {
  assert.deepEqual(generateCorpus(corpus.seed), corpus);
});

test("recall is at least 95% for every secret type and false positives stay under 1%", (t) => {
  const byType = new Map<string, { found: number; total: number; missed: string[] }>();
  for (const sample of corpus.positives) {
    const row = byType.get(sample.type) ?? { found: 0, total: 0, missed: [] };
    row.total++;
    if (scan(sample.text).length > 0) row.found++;
    else row.missed.push(sample.context);
    byType.set(sample.type, row);
  }
  const falsePositives = corpus.negatives.filter((sample) => scan(sample.text).length > 0);

  const lines = ["type | found/total | recall | missed contexts", "--- | --- | --- | ---"];
  for (const [type, { found, total, missed }] of byType) {
    lines.push(`${type} | ${found}/${total} | ${((100 * found) / total).toFixed(1)}% | ${missed.join(", ")}`);
  }
  const fpRate = falsePositives.length / corpus.negatives.length;
  lines.push(
    `false positives: ${falsePositives.length}/${corpus.negatives.length} (${(100 * fpRate).toFixed(2)}%)`,
  );
  t.diagnostic(`\n${lines.join("\n")}`);

  for (const [type, { found, total }] of byType) {
    assert.ok(found / total >= MIN_RECALL, `${type}: recall ${found}/${total} is below 95%`);
  }
  assert.ok(
    fpRate <= MAX_FALSE_POSITIVE_RATE,
    `false positives ${falsePositives.length}: ${falsePositives.map((s) => s.kind).join(", ")}`,
  );
});

test("every negative kind and every covered context is present in the corpus", () => {
  const kinds = new Set(corpus.negatives.map((sample) => sample.kind));
  for (const kind of [
    "commit-sha",
    "lockfile-integrity",
    "uuid",
    "ssh-public-key",
    "certificate",
    "data-uri",
    "placeholder",
    "token-variable-code",
  ]) {
    assert.ok(kinds.has(kind), kind);
  }
  const contexts = new Set(corpus.positives.map((sample) => sample.context));
  for (const context of [
    "env",
    "yaml",
    "json-body",
    "source-literal",
    "header",
    "url",
    "shell",
    "base64-wrapped",
    "url-encoded",
    "json-escaped",
  ]) {
    assert.ok(contexts.has(context), context);
  }
});
