import { type Finding, type KnownToken, scan } from "../../lib/scanner/index.ts";
import { git, gitOk } from "./git.ts";
import { isDeletion, type RefUpdate } from "./push-updates.ts";

/** A secret found in a push: where (commit, file or message) and what (the scanner's finding). */
export interface PushFinding {
  commit: string;
  /** The file's path, or `(commit message)` / `(tag message)`. */
  path: string;
  finding: Finding;
}

/** A touched file too large to scan: the push is refused rather than forwarded unscanned. */
export interface Oversized {
  commit: string;
  path: string;
  bytes: number;
}

export interface PushScan {
  findings: PushFinding[];
  oversized: Oversized[];
  /** New commits scanned (their touched files and messages). */
  commits: number;
  /** Distinct blobs scanned. */
  blobs: number;
}

export interface PushScanOptions {
  knownTokens?: readonly KnownToken[];
  maxBlobBytes: number;
  /** The hook's environment (it carries the quarantine's object directories). */
  env?: NodeJS.ProcessEnv;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** Mode of a gitlink (submodule): its "blob" is a commit of another repository, nothing to read. */
const GITLINK = "160000";

/** A blob to scan and where it first appears (oldest commit first). */
export interface TouchedBlob {
  sha: string;
  commit: string;
  path: string;
}

/**
 * Parses `git diff-tree --stdin -r -m --root --no-renames -z` output: a commit id, then its
 * entries (`:<modes> <old> <new> <status>` NUL `<path>` NUL); merges repeat the commit id once per
 * parent. Returns the new side of every added or modified entry, each blob once, in order.
 */
export function parseDiffTree(output: string): TouchedBlob[] {
  const tokens = output.split("\0");
  const seen = new Set<string>();
  const blobs: TouchedBlob[] = [];
  let commit = "";
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!.replace(/^\n+/, "");
    if (token === "") continue;
    if (token.startsWith(":")) {
      const path = tokens[++index] ?? "";
      const [, newMode, , newSha, status] = token.slice(1).split(" ");
      if (newSha === undefined || status === undefined || !SHA.test(newSha)) continue;
      if (status.startsWith("D") || /^0+$/.test(newSha) || newMode === GITLINK) continue;
      if (seen.has(newSha)) continue;
      seen.add(newSha);
      blobs.push({ sha: newSha, commit, path });
    } else if (SHA.test(token.trim())) {
      commit = token.trim();
    }
  }
  return blobs;
}

/** The message of a raw commit or tag object: everything after the first blank line. */
export function objectMessage(raw: string): string {
  const end = raw.indexOf("\n\n");
  return end === -1 ? "" : raw.slice(end + 2);
}

/**
 * Scans everything a push would add upstream: for every commit not yet reachable from a ref of
 * the gate (which mirrors upstream), the full content of each file it adds or modifies (not only
 * the added lines: a secret split across commits is whole in the file) and its message; and the
 * message of each new annotated tag. Works inside the pre-receive quarantine.
 */
export async function scanPush(repo: string, updates: readonly RefUpdate[], options: PushScanOptions) {
  const base = { cwd: repo, ...(options.env ? { env: options.env } : {}) };
  const tips = [...new Set(updates.filter((update) => !isDeletion(update)).map((update) => update.newSha))];
  const result: PushScan = { findings: [], oversized: [], commits: 0, blobs: 0 };
  if (tips.length === 0) return result;

  const commits = (
    await gitOk(["rev-list", "--reverse", "--topo-order", "--stdin", "--not", "--all"], {
      ...base,
      input: `${tips.join("\n")}\n`,
    })
  )
    .toString("utf8")
    .split("\n")
    .filter((line) => SHA.test(line));
  result.commits = commits.length;

  // Messages of the new commits and of new annotated tags.
  const types = await batchCheck(repo, tips, options.env);
  const messageObjects = [
    ...commits.map((sha) => ({ sha, path: "(commit message)" })),
    ...tips.filter((sha) => types.get(sha)?.type === "tag").map((sha) => ({ sha, path: "(tag message)" })),
  ];
  const messagePaths = new Map(messageObjects.map((object) => [object.sha, object.path]));
  await readObjects(repo, [...messagePaths.keys()], options.env, (sha, content) => {
    const path = messagePaths.get(sha) ?? "(message)";
    for (const finding of scan(objectMessage(content.toString("utf8")), scanOptions(options))) {
      result.findings.push({ commit: sha, path, finding });
    }
  });

  if (commits.length === 0) return result;
  const tree = await gitOk(["diff-tree", "--stdin", "-r", "-m", "--root", "--no-renames", "-z"], {
    ...base,
    input: `${commits.join("\n")}\n`,
  });
  const touched = parseDiffTree(tree.toString("utf8"));
  const sizes = await batchCheck(
    repo,
    touched.map((blob) => blob.sha),
    options.env,
  );
  const readable: TouchedBlob[] = [];
  for (const blob of touched) {
    const size = sizes.get(blob.sha)?.size ?? 0;
    if (size > options.maxBlobBytes)
      result.oversized.push({ commit: blob.commit, path: blob.path, bytes: size });
    else readable.push(blob);
  }
  const where = new Map(readable.map((blob) => [blob.sha, blob]));
  result.blobs = readable.length;
  // In batches of bounded size: a push of many large files never sits in memory at once.
  for (const batch of batches(readable, (blob) => sizes.get(blob.sha)?.size ?? 0, 64 * 1024 * 1024)) {
    await readObjects(
      repo,
      batch.map((blob) => blob.sha),
      options.env,
      (sha, content) => {
        const blob = where.get(sha)!;
        for (const finding of scan(content.toString("utf8"), scanOptions(options))) {
          result.findings.push({ commit: blob.commit, path: blob.path, finding });
        }
      },
    );
  }
  return result;
}

function scanOptions(options: PushScanOptions) {
  return options.knownTokens?.length ? { knownTokens: options.knownTokens } : {};
}

function* batches<T>(items: readonly T[], size: (item: T) => number, limit: number): Generator<T[]> {
  let batch: T[] = [];
  let total = 0;
  for (const item of items) {
    if (batch.length && total + size(item) > limit) {
      yield batch;
      batch = [];
      total = 0;
    }
    batch.push(item);
    total += size(item);
  }
  if (batch.length) yield batch;
}

async function batchCheck(
  repo: string,
  shas: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<Map<string, { type: string; size: number }>> {
  const map = new Map<string, { type: string; size: number }>();
  if (shas.length === 0) return map;
  const out = await gitOk(["cat-file", "--batch-check"], {
    cwd: repo,
    input: `${shas.join("\n")}\n`,
    ...(env ? { env } : {}),
  });
  for (const line of out.toString("utf8").split("\n")) {
    const [sha, type, size] = line.split(" ");
    if (sha && type && size !== undefined && type !== "missing") map.set(sha, { type, size: Number(size) });
  }
  return map;
}

/** Reads objects with `git cat-file --batch`; calls `each` per object. A missing object throws. */
async function readObjects(
  repo: string,
  shas: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
  each: (sha: string, content: Buffer) => void,
): Promise<void> {
  if (shas.length === 0) return;
  const result = await git(["cat-file", "--batch"], {
    cwd: repo,
    input: `${shas.join("\n")}\n`,
    ...(env ? { env } : {}),
  });
  if (result.code !== 0) throw new Error(`git cat-file --batch failed: ${result.stderr.trim()}`);
  const out = result.stdout;
  let offset = 0;
  while (offset < out.length) {
    const newline = out.indexOf(0x0a, offset);
    if (newline === -1) break;
    const header = out.subarray(offset, newline).toString("utf8");
    const [sha, type, size] = header.split(" ");
    if (type === "missing" || sha === undefined || size === undefined) {
      throw new Error(`object ${sha ?? "?"} is missing from the push`);
    }
    const start = newline + 1;
    const end = start + Number(size);
    each(sha, out.subarray(start, end));
    offset = end + 1;
  }
}
