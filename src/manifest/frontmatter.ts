import type { Document } from "yaml";
import { isScalar, LineCounter, parseDocument, visit } from "yaml";
import { errorMessage } from "../lib/user-error.ts";
import { ManifestError } from "./errors.ts";

export interface FrontmatterFile {
  file: string;
  /** The parsed YAML frontmatter, with source ranges kept for error positions. */
  document: Document.Parsed;
  /** Maps an offset inside the frontmatter to a 1-based line and column of the file. */
  positionOf(offset: number): { line: number; column: number };
  /** The Markdown after the closing `---`. */
  body: string;
  /** The frontmatter as plain data. */
  data: unknown;
}

/** Aliases expand when read: a small file could otherwise stand for gigabytes (a YAML bomb). */
const MAX_ALIAS_COUNT = 100;

const FENCE = /^---[ \t]*$/;

/** Splits a Markdown file into its YAML frontmatter (between `---` lines) and body. */
export function parseFrontmatter(file: string, text: string): FrontmatterFile {
  const lines = text.split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? "")) {
    throw new ManifestError(
      { file, line: 1, column: 1 },
      "missing YAML frontmatter: the file must start with a line `---`, then YAML, then a closing `---`",
    );
  }
  const close = lines.findIndex((line, index) => index > 0 && FENCE.test(line));
  if (close === -1) {
    throw new ManifestError(
      { file, line: 1, column: 1 },
      "the frontmatter is never closed: add a line `---` after the YAML",
    );
  }
  const yamlText = lines.slice(1, close).join("\n");
  const body = lines
    .slice(close + 1)
    .join("\n")
    .replace(/^\s*\n/, "");
  const counter = new LineCounter();
  const document = parseDocument(yamlText, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const positionOf = (offset: number) => {
    const { line, col } = counter.linePos(offset);
    return { line: line + 1, column: col };
  };
  const fail = (offset: number, problem: string): never => {
    const { line, column } = positionOf(offset);
    throw new ManifestError({ file, line, column }, problem);
  };
  const [first] = document.errors;
  if (first) fail(first.pos[0], `invalid YAML: ${problemOf(first.message)}`);
  const tag = document.warnings.find((warning) => warning.code === "TAG_RESOLVE_FAILED");
  if (tag) fail(tag.pos[0], "unknown YAML tag (`!...`); a manifest is plain YAML: remove the tag");
  visit(document, {
    Alias(_, alias) {
      if (alias.resolve(document) === undefined)
        fail(
          alias.range?.[0] ?? 0,
          '`*` starts an alias, and this one names no anchor; quote values that start with `*`, e.g. "*.pythonhosted.org"',
        );
    },
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key))
        fail(
          (pair.key as { range?: [number] }).range?.[0] ?? 0,
          "a key must be plain text, not a list or mapping",
        );
    },
  });
  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = errorMessage(error);
    fail(
      0,
      /alias count/i.test(message)
        ? `too many aliases (over ${MAX_ALIAS_COUNT} expansions); write the values out`
        : `invalid YAML: ${problemOf(message)}`,
    );
  }
  return { file, document, positionOf, body, data };
}

/**
 * The YAML parser's message, up to its first colon: what follows may quote the source, and the
 * source may hold a secret (`X: >Tr0ub4dor` is "Block scalar header includes extra characters: …").
 */
function problemOf(message: string): string {
  return (message.split("\n")[0] ?? message).split(":")[0]!.trim();
}
