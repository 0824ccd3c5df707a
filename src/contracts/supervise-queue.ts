import { randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { readHostFile, UnsafeHostFileError } from "../lib/host-files.ts";
import {
  issueLines,
  PROPOSAL_ID,
  type Proposal,
  type ProposalResponse,
  proposalSchema,
  QUEUE_DIRS,
  responseSchema,
} from "./supervise.ts";

/** A file in the queue that is not a valid proposal: listed, never acted on. */
export interface QueueProblem {
  file: string;
  issues: string[];
}

export type WaitResult =
  | { status: "decided"; response: ProposalResponse }
  | { status: "timeout" }
  | { status: "aborted" }
  | { status: "invalid-response"; issues: string[] };

export interface WaitOptions {
  /** Epoch ms after which the proposal is withdrawn. */
  deadline: number;
  signal?: AbortSignal | undefined;
  /** How often the response file is looked for. */
  pollMs?: number;
  /**
   * When the deadline passes while an operator is applying the decision, how much longer to wait
   * for it before answering "timeout" anyway.
   */
  graceMs?: number;
}

/**
 * One bottle's queue directory (supervise.ts describes the layout). Every state change is a
 * rename or an unlink, each atomic, so the sidecar and any number of host processes can share it
 * without locks. An instance owns nothing but the path: no module state.
 */
export class ProposalQueue {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the queue's folders (owner only: proposals may quote internal URLs). */
  ensure(): void {
    for (const sub of Object.values(QUEUE_DIRS))
      mkdirSync(join(this.dir, sub), { recursive: true, mode: 0o700 });
  }

  /** An id not in use in this queue. */
  newId(): string {
    for (;;) {
      const id = randomBytes(4).toString("hex");
      if (!Object.values(QUEUE_DIRS).some((sub) => existsSync(join(this.dir, sub, `${id}.json`)))) return id;
    }
  }

  /** Writes the proposal atomically into pending/. */
  submit(proposal: Proposal): void {
    writeAtomic(this.#file("pending", proposal.id), `${JSON.stringify(proposal, null, 2)}\n`);
  }

  /**
   * Withdraws a pending proposal; false when it is no longer pending (an operator claimed it, or
   * it is already gone). Unlink is atomic against the operator's claim (a rename): one wins.
   */
  withdraw(id: string): boolean {
    try {
      unlinkSync(this.#file("pending", id));
      return true;
    } catch {
      return false;
    }
  }

  /** Removes every pending proposal: at sidecar start nobody waits for them any more. */
  withdrawAll(): number {
    return this.#ids("pending").filter((id) => this.withdraw(id)).length;
  }

  /** Polls for the response to `id`; withdraws the proposal on deadline or abort. */
  async waitForResponse(id: string, options: WaitOptions): Promise<WaitResult> {
    const pollMs = options.pollMs ?? 250;
    const graceMs = options.graceMs ?? 120_000;
    for (;;) {
      const response = this.#takeResponse(id);
      if (response !== undefined) return response;
      if (options.signal?.aborted) {
        if (this.withdraw(id)) return { status: "aborted" };
      } else if (Date.now() >= options.deadline) {
        // Withdrawn: nobody can approve it any more. Not withdrawn: an operator is deciding
        // right now (or the response just landed); give them a grace period.
        if (this.withdraw(id) || Date.now() >= options.deadline + graceMs) return { status: "timeout" };
      }
      await sleep(pollMs, options.signal);
    }
  }

  /** Pending proposals, oldest first, and the files that are not valid proposals. */
  pending(): { proposals: Proposal[]; problems: QueueProblem[] } {
    const proposals: Proposal[] = [];
    const problems: QueueProblem[] = [];
    let ids: string[];
    try {
      ids = this.#ids("pending");
    } catch (error) {
      if (!(error instanceof UnsafeHostFileError)) throw error;
      return { proposals, problems: [{ file: join(this.dir, QUEUE_DIRS.pending), issues: [error.message] }] };
    }
    for (const id of ids) {
      const file = this.#file("pending", id);
      const result = readProposal(file);
      if (result.ok && result.proposal.id === id) proposals.push(result.proposal);
      else problems.push({ file, issues: result.ok ? ["id: does not match the file name"] : result.issues });
    }
    proposals.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    return { proposals, problems };
  }

  /** Takes a pending proposal for deciding; undefined when it is not pending (decided, withdrawn). */
  claim(id: string): Proposal | undefined {
    if (!PROPOSAL_ID.test(id)) return undefined;
    try {
      renameSync(this.#file("pending", id), this.#file("deciding", id));
    } catch {
      return undefined;
    }
    const result = readProposal(this.#file("deciding", id));
    if (result.ok) return result.proposal;
    rmSync(this.#file("deciding", id), { force: true });
    return undefined;
  }

  /** Puts a claimed proposal back: the decision failed to apply, so it stays pending. */
  release(id: string): void {
    renameSync(this.#file("deciding", id), this.#file("pending", id));
  }

  /** Answers a claimed proposal: the response file appears atomically, then the claim goes. */
  respond(response: ProposalResponse): void {
    // The sidecar must read it: when this process is root and the sidecar is not, it is theirs.
    const dir = statSync(this.#subdir("responses"));
    const owner = process.getuid?.() === 0 && dir.uid !== 0 ? { uid: dir.uid, gid: dir.gid } : undefined;
    writeAtomic(this.#file("responses", response.id), `${JSON.stringify(response, null, 2)}\n`, 0o600, owner);
    rmSync(this.#file("deciding", response.id), { force: true });
  }

  #takeResponse(id: string): WaitResult | undefined {
    const file = this.#file("responses", id);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
    rmSync(file, { force: true });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { status: "invalid-response", issues: ["(file): not valid JSON"] };
    }
    const parsed = responseSchema.safeParse(json);
    if (!parsed.success) return { status: "invalid-response", issues: issueLines(parsed.error) };
    return { status: "decided", response: parsed.data };
  }

  #ids(sub: keyof typeof QUEUE_DIRS): string[] {
    const dir = this.#subdir(sub);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names.filter((name) => name.endsWith(".json")).map((name) => name.slice(0, -5));
  }

  #file(sub: keyof typeof QUEUE_DIRS, id: string): string {
    return join(this.#subdir(sub), `${id}.json`);
  }

  /**
   * A folder of the queue, checked to be one: the sidecar owns the queue dir and could swap
   * `pending/` for a link, sending a root CLI's renames and writes elsewhere.
   */
  #subdir(sub: keyof typeof QUEUE_DIRS): string {
    const dir = join(this.dir, QUEUE_DIRS[sub]);
    let info: ReturnType<typeof lstatSync> | undefined;
    try {
      info = lstatSync(dir);
    } catch {
      return dir; // not there (yet): whatever uses it fails on its own
    }
    if (!info.isDirectory()) throw new UnsafeHostFileError(dir, "is not a directory");
    return dir;
  }
}

/** Bound on a queue file the host reads: the sidecar writes them, and a sidecar may be hostile. */
const MAX_QUEUE_FILE_BYTES = 256 * 1024;

function readProposal(file: string): { ok: true; proposal: Proposal } | { ok: false; issues: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(readHostFile(file, MAX_QUEUE_FILE_BYTES));
  } catch (error) {
    if (error instanceof UnsafeHostFileError) return { ok: false, issues: [`(file): ${error.message}`] };
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, issues: [code ? `(file): ${code}` : "(file): not valid JSON"] };
  }
  const parsed = proposalSchema.safeParse(json);
  return parsed.success
    ? { ok: true, proposal: parsed.data }
    : { ok: false, issues: issueLines(parsed.error) };
}

/**
 * Write to a temporary name in the same folder, then rename: readers see all or nothing. The
 * temporary file is created exclusively (O_EXCL never follows a link a sidecar placed there).
 * `owner`: whom the file is given to (a root CLI answering a sidecar that runs unprivileged).
 */
export function writeAtomic(
  file: string,
  content: string,
  mode = 0o600,
  owner?: { uid: number; gid: number },
): void {
  const tmp = `${file}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, content, { mode, flag: "wx" });
    if (owner !== undefined) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, file);
  } catch (error) {
    // A full disk fails the write after the file exists: leave nothing half-written behind.
    rmSync(tmp, { force: true });
    throw error;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
