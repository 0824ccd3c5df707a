import { createHmac, randomBytes } from "node:crypto";
import { type Finding, type KnownToken, scan } from "../../lib/scanner/index.ts";
import { git, gitOk } from "./git.ts";
import { isDeletion, isZero, type RefUpdate } from "./push-updates.ts";

/** What kind of thing in a push holds a finding. */
type FindingPlace = "blob" | "commit" | "tag" | "tree" | "ref";

/** A secret found in a push: where (ref, object, path) and what (the scanner's finding). */
export interface PushFinding {
  /** The pushed ref that makes the object reachable (the first, when several do). */
  ref: string;
  /** The object holding it: a blob, a commit, a tag or a tree; the new tip for a ref name. */
  object: string;
  place: FindingPlace;
  /** For a blob: the first new commit that adds it, when one does (a blob may come by a tag alone). */
  commit?: string;
  /** For a blob: an HMAC of the secret under this process's key, to tell one already upstream. Never shown. */
  digest?: string;
  /** The file's path; `(commit header)`, `(commit message)`, `(tag header)`, `(tag message)`, `(path name)`, `(ref name)`. */
  path: string;
  finding: Finding;
}

/** A blob too large to scan: the push is refused rather than forwarded unscanned. */
export interface Oversized {
  /** The blob's id. */
  blob: string;
  path: string;
  bytes: number;
}

export interface PushScan {
  /** New findings: the push is refused. */
  findings: PushFinding[];
  /** Secrets upstream already holds at the same path: reported, not blocking. */
  warnings: PushFinding[];
  oversized: Oversized[];
  /** New objects the push adds, and of them commits and blobs (each blob id once). */
  objects: number;
  commits: number;
  blobs: number;
}

export interface PushScanOptions {
  knownTokens?: readonly KnownToken[];
  maxBlobBytes: number;
  /** The hook's environment (it carries the quarantine's object directories). */
  env?: NodeJS.ProcessEnv;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** Header lines that only name other objects: hex ids, never a secret, often "high entropy". */
const OBJECT_LINK = /^(tree|parent|object) [0-9a-f]{40,64}$/;
/** Bound on what is read into memory at once. */
const BATCH_BYTES = 64 * 1024 * 1024;

/** A new object of the push: its id and the path rev-list first saw it at ("" for a root tree). */
interface NewObject {
  sha: string;
  path: string;
  type: string;
  size: number;
}

/**
 * Everything a push makes reachable that upstream does not have, scanned whole:
 * `git rev-list --objects --stdin --not --all` from every pushed tip (of any type; tags peeled,
 * nested too), then each new object through `git cat-file --batch`: blob contents, commit and tag
 * objects (every header: author, committer, tagger, encoding, extra headers, gpgsig; and the
 * message), tree entry names as full paths; and the ref names. Each blob id is scanned once. A
 * secret removed by a later commit still counts (its blob is still added). A secret that upstream
 * already holds at the same path is a warning, not a refusal. Works inside the pre-receive
 * quarantine, where `--all` is what upstream has.
 */
export async function scanPush(
  repo: string,
  updates: readonly RefUpdate[],
  options: PushScanOptions,
): Promise<PushScan> {
  const env = options.env;
  const result: PushScan = { findings: [], warnings: [], oversized: [], objects: 0, commits: 0, blobs: 0 };
  const found: PushFinding[] = [];
  const pushed = updates.filter((update) => !isDeletion(update));
  // A ref name holding a secret is shown masked everywhere it is named.
  const shownRef = new Map<string, string>();
  for (const update of updates) {
    const findings = scan(update.ref, scanOptions(options));
    shownRef.set(update.ref, masked(update.ref, findings));
    for (const finding of findings)
      found.push({ ref: update.ref, object: update.newSha, place: "ref", path: "(ref name)", finding });
  }
  const tips = [...new Set(pushed.map((update) => update.newSha))];
  if (tips.length > 0) {
    const objects = await newObjects(repo, tips, env);
    result.objects = objects.length;
    const readable: NewObject[] = [];
    /** Trees a tag or a tip points at directly: their names are listed whole (no commit diffs them). */
    const taggedTrees = new Set(
      objects.filter((object) => object.type === "tree" && tips.includes(object.sha)).map((o) => o.sha),
    );
    for (const object of objects) {
      if (object.type === "tree") continue;
      if (object.type === "commit") result.commits++;
      if (object.type === "blob") {
        result.blobs++;
        if (object.size > options.maxBlobBytes) {
          result.oversized.push({ blob: object.sha, path: object.path, bytes: object.size });
          continue;
        }
      }
      readable.push(object);
    }
    const bySha = new Map(readable.map((object) => [object.sha, object]));
    // Path names come from git diff-tree, which runs beside the object reads below.
    const commits = objects.filter((object) => object.type === "commit").map((object) => object.sha);
    const commitPaths = scanPathNames(repo, commits, [], options);
    commitPaths.catch(() => {}); // awaited below; a failure of the reads first must not leave it unhandled
    for (const batch of batches(readable, (object) => object.size, BATCH_BYTES)) {
      await readObjects(
        repo,
        batch.map((object) => object.sha),
        env,
        (sha, content) => {
          const object = bySha.get(sha)!;
          if (object.type === "tag") {
            const target = /^object ([0-9a-f]{40,64})\ntype tree\n/.exec(content.toString("utf8", 0, 200));
            if (target) taggedTrees.add(target[1]!);
          }
          for (const [path, finding] of scanObject(object, content, options)) {
            const place = object.type as FindingPlace;
            const digest = place === "blob" ? digestOf(content, finding) : undefined;
            found.push({ ref: "", object: sha, place, path, finding, ...(digest ? { digest } : {}) });
          }
        },
      );
    }
    const treePaths = taggedTrees.size ? await scanPathNames(repo, [], [...taggedTrees], options) : [];
    for (const [path, finding, object] of [...(await commitPaths), ...treePaths])
      found.push({ ref: "", object, place: "tree", path, finding });
  }
  const attributed = (await attributeRefs(repo, pushed, found, env)).map((finding) => ({
    ...finding,
    ref: shownRef.get(finding.ref) ?? finding.ref,
  }));
  const known = await presentUpstream(repo, updates, attributed, options);
  for (const finding of attributed) (known.has(finding) ? result.warnings : result.findings).push(finding);
  await nameCommits(repo, tips, [...result.findings, ...result.warnings].slice(0, 50), env);
  return result;
}

/** For blob findings: the first new commit that adds the blob, so the refusal says what to rewrite. */
async function nameCommits(
  repo: string,
  tips: readonly string[],
  findings: PushFinding[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<void> {
  for (const finding of findings) {
    if (finding.place !== "blob") continue;
    const log = await git(
      [
        "log",
        "-m",
        "--reverse",
        "--format=%H",
        `--find-object=${finding.object}`,
        "--stdin",
        "--not",
        "--all",
      ],
      { cwd: repo, input: `${tips.join("\n")}\n`, ...(env ? { env } : {}) },
    );
    const first = log.stdout.toString("utf8").split("\n")[0]?.trim() ?? "";
    if (log.code === 0 && SHA.test(first)) finding.commit = first;
  }
}

/** Every object the tips reach that no ref of the gate (upstream's view) reaches. */
async function newObjects(
  repo: string,
  tips: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<NewObject[]> {
  const listed = await gitOk(["rev-list", "--objects", "--stdin", "--not", "--all"], {
    cwd: repo,
    input: `${tips.join("\n")}\n`,
    ...(env ? { env } : {}),
  });
  const paths = new Map<string, string>();
  for (const line of listed.toString("utf8").split("\n")) {
    const space = line.indexOf(" ");
    const sha = space === -1 ? line : line.slice(0, space);
    if (!SHA.test(sha) || paths.has(sha)) continue;
    paths.set(sha, space === -1 ? "" : line.slice(space + 1));
  }
  // rev-list lists a tag object only when it is itself a tip; tips are checked too.
  for (const tip of tips) if (!paths.has(tip)) paths.set(tip, "");
  const types = await batchCheck(repo, [...paths.keys()], env);
  const objects: NewObject[] = [];
  for (const [sha, path] of paths) {
    const info = types.get(sha);
    if (info === undefined) throw new Error(`object ${sha} is missing from the push`);
    objects.push({ sha, path, type: info.type, size: info.size });
  }
  return objects;
}

/** The findings of one object, each with the path it is reported at. */
function scanObject(object: NewObject, content: Buffer, options: PushScanOptions): [string, Finding][] {
  const found: [string, Finding][] = [];
  if (object.type === "blob") {
    const findings = scan(content.toString("utf8"), scanOptions(options));
    // The path is shown too: a secret in a directory's name is masked there as well.
    const path = findings.length ? masked(object.path, scan(object.path, scanOptions(options))) : object.path;
    for (const finding of findings) found.push([path || "(blob)", finding]);
  } else if (object.type === "commit" || object.type === "tag") {
    const text = content.toString("utf8");
    const headerEnd = text.indexOf("\n\n");
    const headerLines = (headerEnd === -1 ? text : text.slice(0, headerEnd)).split("\n").length;
    // Object links blanked, not removed: line numbers stay those of `git cat-file -p`.
    const scanned = text
      .split("\n")
      .map((line, index) => (index < headerLines && OBJECT_LINK.test(line) ? "" : line))
      .join("\n");
    for (const finding of scan(scanned, scanOptions(options))) {
      const part = headerEnd !== -1 && finding.line > headerLines + 1 ? "message" : "header";
      found.push([`(${object.type} ${part})`, finding]);
    }
  }
  return found;
}

const DIGEST_KEY = randomBytes(32);

/** The secret a finding points at in `content`, as an HMAC under a key made at start. */
function digestOf(content: Buffer, finding: Finding): string | undefined {
  const line = content.toString("utf8").split("\n")[finding.line - 1] ?? "";
  const secret = line.slice(finding.column - 1, finding.column - 1 + finding.length);
  // A finding inside an encoded layer (base64, hex, UTF-16) points at the encoded text, not the
  // secret: no digest, so it can never pass as one upstream already holds (fail closed).
  if (!scan(secret).some((other) => other.ruleId === finding.ruleId && other.column === 1)) return undefined;
  return createHmac("sha256", DIGEST_KEY).update(secret).digest("hex");
}

/** A one-line text (a path, a ref name) with every finding on it replaced by its masked excerpt. */
function masked(text: string, findings: readonly Finding[]): string {
  let shown = text;
  for (const finding of [...findings].sort((a, b) => b.column - a.column)) {
    const start = finding.column - 1;
    shown = `${shown.slice(0, start)}${finding.excerpt}${shown.slice(start + finding.length)}`;
  }
  return shown;
}

/**
 * Every path the push names, each scanned once: the paths each new commit adds or changes (its
 * diff against its parents: a renamed file or directory is a new path), and every path under a
 * tree that a tag or a tip points at. Returns the findings with the (masked) path and the commit
 * or tree that names it.
 */
async function scanPathNames(
  repo: string,
  commits: readonly string[],
  trees: readonly string[],
  options: PushScanOptions,
): Promise<[string, Finding, string][]> {
  const env = options.env;
  const owner = new Map<string, string>();
  if (commits.length > 0) {
    const diff = await gitOk(
      // -t: directories too, so an empty directory's name is seen.
      [
        "diff-tree",
        "--stdin",
        "-r",
        "-t",
        "-z",
        "--name-only",
        "--root",
        "-m",
        "--no-renames",
        "--format=%x01%H",
      ],
      { cwd: repo, input: `${commits.join("\n")}\n`, ...(env ? { env } : {}) },
    );
    let commit = "";
    for (const token of diff.toString("utf8").split("\0")) {
      const path = token.startsWith("\n") ? token.slice(1) : token;
      if (path.startsWith("\u0001") && SHA.test(path.slice(1))) commit = path.slice(1);
      else if (path !== "" && !owner.has(path)) owner.set(path, commit);
    }
  }
  for (const tree of trees) {
    const listed = await gitOk(["ls-tree", "-r", "-t", "-z", "--name-only", tree], {
      cwd: repo,
      ...(env ? { env } : {}),
    });
    for (const path of listed.toString("utf8").split("\0"))
      if (path !== "" && !owner.has(path)) owner.set(path, tree);
  }
  const found: [string, Finding, string][] = [];
  // One full path a line: it holds its directories' names too.
  const names = [...owner.keys()];
  const findings = scan(names.join("\n"), scanOptions(options));
  for (const finding of findings) {
    const name = names[finding.line - 1] ?? "";
    const onLine = findings.filter((other) => other.line === finding.line);
    // Reported as line 1 of the name itself, whatever its place in the joined list.
    found.push([masked(name, onLine), { ...finding, line: 1 }, owner.get(name) ?? ""]);
  }
  return found;
}

/** Names the pushed ref each finding comes through: the only one, or the first that reaches it. */
async function attributeRefs(
  repo: string,
  pushed: readonly RefUpdate[],
  found: readonly PushFinding[],
  env: NodeJS.ProcessEnv | undefined,
): Promise<PushFinding[]> {
  const unattributed = found.filter((finding) => finding.ref === "");
  if (unattributed.length === 0 || pushed.length === 0) return [...found];
  const reach = new Map<string, string>();
  if (pushed.length === 1) {
    for (const finding of unattributed) reach.set(finding.object, pushed[0]!.ref);
  } else {
    for (const update of pushed) {
      const listed = await gitOk(["rev-list", "--objects", "--stdin", "--not", "--all"], {
        cwd: repo,
        input: `${update.newSha}\n`,
        ...(env ? { env } : {}),
      });
      for (const line of listed.toString("utf8").split("\n")) {
        const sha = line.split(" ")[0] ?? "";
        if (!reach.has(sha)) reach.set(sha, update.ref);
      }
      if (!reach.has(update.newSha)) reach.set(update.newSha, update.ref);
    }
  }
  return found.map((finding) =>
    finding.ref === "" ? { ...finding, ref: reach.get(finding.object) ?? pushed[0]!.ref } : finding,
  );
}

/**
 * The findings in files that upstream already holds with the same secret at the same path (in the
 * pushed refs' old tips, or the upstream commits the push builds on): an unrelated edit of such a
 * file must not be blocked by a secret that is already out there. A new secret still blocks.
 */
async function presentUpstream(
  repo: string,
  updates: readonly RefUpdate[],
  found: readonly PushFinding[],
  options: PushScanOptions,
): Promise<Set<PushFinding>> {
  const known = new Set<PushFinding>();
  const candidates = found.filter((finding) => finding.place === "blob" && !finding.path.includes("\n"));
  if (candidates.length === 0) return known;
  const env = options.env;
  // What upstream has next to the push: the refs' old tips and the commits the new ones build on.
  const bases = new Set(updates.map((update) => update.oldSha).filter((sha) => !isZero(sha)));
  const tips = updates.filter((update) => !isDeletion(update)).map((update) => update.newSha);
  const boundary = await git(["rev-list", "--boundary", "--stdin", "--not", "--all"], {
    cwd: repo,
    input: `${tips.join("\n")}\n`,
    ...(env ? { env } : {}),
  });
  for (const line of boundary.stdout.toString("utf8").split("\n"))
    if (line.startsWith("-") && SHA.test(line.slice(1))) bases.add(line.slice(1));
  const paths = [...new Set(candidates.map((finding) => finding.path))];
  const specs = [...bases].flatMap((base) => paths.map((path) => ({ spec: `${base}:${path}`, path })));
  if (specs.length === 0) return known;
  const check = await gitOk(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"], {
    cwd: repo,
    input: `${specs.map((entry) => entry.spec).join("\n")}\n`,
    ...(env ? { env } : {}),
  });
  const blobs = new Map<string, string>();
  check
    .toString("utf8")
    .split("\n")
    .forEach((line, index) => {
      const [sha, type, size] = line.split(" ");
      const entry = specs[index];
      if (entry && sha && SHA.test(sha) && type === "blob" && Number(size) <= options.maxBlobBytes)
        blobs.set(sha, entry.path);
    });
  const upstream = new Set<string>();
  await readObjects(repo, [...blobs.keys()], env, (sha, content) => {
    for (const finding of scan(content.toString("utf8"), scanOptions(options))) {
      const digest = digestOf(content, finding);
      if (digest !== undefined) upstream.add(`${blobs.get(sha)}\0${finding.ruleId}\0${digest}`);
    }
  });
  for (const finding of candidates) {
    if (finding.digest === undefined) continue;
    if (upstream.has(`${finding.path}\0${finding.finding.ruleId}\0${finding.digest}`)) known.add(finding);
  }
  return known;
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
