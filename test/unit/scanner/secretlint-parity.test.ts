import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { lintSource } from "@secretlint/core";
import { creator as recommended } from "@secretlint/secretlint-rule-preset-recommend";
import { scan } from "../../../src/lib/scanner/index.ts";
import type { Corpus } from "../../fixtures/scanner/generate.ts";

const corpus: Corpus = JSON.parse(
  readFileSync(new URL("../../fixtures/scanner/corpus.json", import.meta.url), "utf8"),
);

async function secretlintLines(text: string): Promise<number[]> {
  const result = await lintSource({
    source: { filePath: "/corpus.txt", content: text, contentType: "text" },
    options: { config: { rules: [{ id: recommended.meta.id, rule: recommended }] }, maskSecrets: true },
  });
  return result.messages.map((message) => message.loc.start.line);
}

test("everything the real secretlint recommended preset finds, we find on the same line", async (t) => {
  let secretlintFound = 0;
  const missed: string[] = [];
  for (const sample of corpus.positives) {
    const lines = await secretlintLines(sample.text);
    if (lines.length > 0) secretlintFound++;
    const ours = new Set(scan(sample.text).map((finding) => finding.line));
    for (const line of lines) {
      if (!ours.has(line)) missed.push(`${sample.type}/${sample.context} line ${line}`);
    }
  }
  t.diagnostic(`secretlint preset alone: ${secretlintFound}/${corpus.positives.length} positive samples`);
  assert.deepEqual(missed, []);
});
