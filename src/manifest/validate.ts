import type { Node } from "yaml";
import { isMap, isPair, isScalar, isSeq } from "yaml";
import type { z } from "zod";
import { didYouMean } from "./did-you-mean.ts";
import { ManifestError } from "./errors.ts";
import type { FrontmatterFile } from "./frontmatter.ts";
import { REMOVED_KEYS } from "./schema.ts";

type Path = readonly PropertyKey[];

/**
 * Validates a manifest's frontmatter against its schema. The first problem becomes a
 * ManifestError at the exact key or value it concerns; messages name key paths, never values.
 */
export function validateFrontmatter<S extends z.ZodType>(source: FrontmatterFile, schema: S): z.output<S> {
  const raw: unknown = source.data ?? {};
  if (typeof raw !== "object" || Array.isArray(raw) || raw === null) {
    throw new ManifestError(
      { file: source.file, line: 2, column: 1 },
      "the frontmatter must be a YAML mapping of keys to values",
    );
  }
  for (const key of Object.keys(raw)) {
    // Own keys only: `constructor` or `toString` is an unknown key, not Object's method.
    if (Object.hasOwn(REMOVED_KEYS, key)) throw at(source, [key], REMOVED_KEYS[key]!, "key");
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  // An unknown key usually explains the other issues (a misspelt key is also a missing one).
  const issue =
    result.error.issues.find((candidate) => candidate.code === "unrecognized_keys") ?? result.error.issues[0];
  if (!issue) throw at(source, [], "invalid manifest", "key");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const known = knownKeys(schema, issue.path);
    const hint = didYouMean(key, known);
    const suggestion = hint ? `did you mean \`${hint}\`?` : `known keys here: ${known.join(", ")}`;
    return throwAt(
      source,
      [...issue.path, key],
      `unknown key \`${describePath([...issue.path, key])}\`; ${suggestion}`,
      "key",
    );
  }
  if (issue.code === "invalid_key") {
    const reason = issue.issues[0]?.message ?? issue.message;
    throw at(source, issue.path, `\`${describePath(issue.path)}\`: ${reason}`, "key");
  }
  const where = issue.path.length > 0 ? `\`${describePath(issue.path)}\`: ` : "";
  throw at(
    source,
    issue.path,
    `${where}${issue.code === "invalid_type" ? expectedType(issue) : issue.message}`,
    "value",
  );
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  record: "a mapping (`key: value` lines)",
  object: "a mapping (`key: value` lines)",
  array: "a list",
  boolean: "true or false",
  string: "text",
  number: "a number",
  int: "a whole number",
};

/** "expected a list, got text": the expected shape in words, never the value. */
function expectedType(issue: { expected?: unknown; message: string }): string {
  const word = (name: string) => (Object.hasOwn(TYPE_WORDS, name) ? TYPE_WORDS[name]! : name);
  // Only a type's name is repeated, never anything that could be the value itself.
  const received = /received (\w+)/.exec(issue.message)?.[1] ?? "";
  const got = Object.hasOwn(TYPE_WORDS, received) || received === "null" ? `, got ${word(received)}` : "";
  return `expected ${word(String(issue.expected ?? "another type"))}${got}`;
}

function throwAt(source: FrontmatterFile, path: Path, message: string, target: "key" | "value"): never {
  throw at(source, path, message, target);
}

function at(source: FrontmatterFile, path: Path, message: string, target: "key" | "value"): ManifestError {
  const offset = locate(source.document.contents, path, target);
  const { line, column } = offset === undefined ? { line: 2, column: 1 } : source.positionOf(offset);
  return new ManifestError({ file: source.file, line, column }, message);
}

/** Offset of the deepest node on `path` that exists: the key itself or its value. */
function locate(root: unknown, path: Path, target: "key" | "value"): number | undefined {
  let node: unknown = root;
  let offset = rangeStart(root);
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return offset;
      const keyOffset = rangeStart(pair.key);
      if (last && target === "key") return keyOffset ?? offset;
      node = pair.value;
      offset = rangeStart(pair.value) ?? keyOffset ?? offset;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) return offset;
      node = item;
      offset = rangeStart(item) ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function describePath(path: Path): string {
  return path.reduce<string>(
    (text, segment) =>
      typeof segment === "number"
        ? `${text}[${segment}]`
        : text
          ? `${text}.${String(segment)}`
          : String(segment),
    "",
  );
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  schema?: z.ZodType;
}

/** The keys a strict object at `path` accepts, found by walking the schema's definition. */
function knownKeys(schema: z.ZodType, path: Path): string[] {
  let current: z.ZodType | undefined = schema;
  const unwrap = () => {
    for (let depth = 0; current && depth < 10; depth++) {
      const def: SchemaDef = (current as unknown as { _zod: { def: SchemaDef } })._zod.def;
      if (
        def.type === "optional" ||
        def.type === "default" ||
        def.type === "nullable" ||
        def.type === "prefault"
      )
        current = def.innerType;
      else if (def.type === "pipe") current = def.in;
      else if (def.type === "union")
        current = def.options?.find(
          (option) => defOf(option).type === "object" || defOf(option).type === "array",
        );
      else return def;
    }
    return undefined;
  };
  for (const segment of path) {
    const def = unwrap();
    if (!def) return [];
    if (def.type === "object") current = def.shape?.[String(segment)];
    else if (def.type === "array") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return [];
  }
  const def = unwrap();
  return def?.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}
