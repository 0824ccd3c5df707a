import type { Document } from "yaml";
import { LineCounter, parseDocument } from "yaml";
import { ManifestError } from "./errors.ts";

export interface FrontmatterFile {
  file: string;
  /** The parsed YAML frontmatter, with source ranges kept for error positions. */
  document: Document.Parsed;
  /** Maps an offset inside the frontmatter to a 1-based line and column of the file. */
  positionOf(offset: number): { line: number; column: number };
  /** The Markdown after the closing `---`. */
  body: string;
}

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
  const [first] = document.errors;
  if (first) {
    const { line, column } = positionOf(first.pos[0]);
    throw new ManifestError({ file, line, column }, `invalid YAML: ${firstLine(first.message)}`);
  }
  return { file, document, positionOf, body };
}

function firstLine(message: string): string {
  return message.split("\n")[0] ?? message;
}
