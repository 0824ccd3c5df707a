import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ProposalQueue } from "../../../src/contracts/supervise-queue.ts";
import { appendHostFile, readHostFile, UnsafeHostFileError } from "../../../src/lib/host-files.ts";
import { appendAudit, auditEntry } from "../../../src/supervise/audit.ts";

/** A dir a sidecar could write, and a file outside it that must stay untouched. */
function sidecarDir(): { dir: string; victim: string } & Disposable {
  const root = mkdtempSync(join(tmpdir(), "claude-bottle-hostfiles-"));
  const victim = join(root, "bashrc");
  writeFileSync(victim, "original\n");
  const dir = join(root, "logs");
  execFileSync("mkdir", ["-p", dir]);
  return { dir, victim, [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }) };
}

test("a symlink planted where the host appends its audit redirects nothing", () => {
  using fixture = sidecarDir();
  const file = join(fixture.dir, "supervise-audit.jsonl");
  symlinkSync(fixture.victim, file);
  const entry = auditEntry({
    instance: "x",
    kind: "egress",
    decision: "rejected",
    operator: "op",
    before: "",
    after: "",
  });
  assert.throws(() => appendAudit(file, entry), UnsafeHostFileError);
  assert.equal(readFileSync(fixture.victim, "utf8"), "original\n");
});

test("the positive control: a regular file (or none yet) is appended to", () => {
  using fixture = sidecarDir();
  const file = join(fixture.dir, "audit.jsonl");
  appendHostFile(file, "one\n");
  appendHostFile(file, "two\n");
  assert.equal(readFileSync(file, "utf8"), "one\ntwo\n");
  assert.equal(readHostFile(file, 100), "one\ntwo\n");
});

test("a FIFO is neither read nor written (the host would block on it), a large file is not read", () => {
  using fixture = sidecarDir();
  const fifo = join(fixture.dir, "fifo");
  execFileSync("mkfifo", [fifo]);
  assert.throws(() => readHostFile(fifo, 100), UnsafeHostFileError);
  assert.throws(() => appendHostFile(fifo, "x"));
  const big = join(fixture.dir, "big");
  writeFileSync(big, "x".repeat(101));
  assert.throws(() => readHostFile(big, 100), /larger than 100 bytes/);
});

test("a queue folder swapped for a link (by the sidecar that owns the queue) is a problem, never followed", () => {
  using fixture = sidecarDir();
  const queue = new ProposalQueue(join(fixture.dir, "queue"));
  queue.ensure();
  rmSync(join(queue.dir, "pending"), { recursive: true });
  symlinkSync(fixture.dir, join(queue.dir, "pending"));
  const { proposals, problems } = queue.pending();
  assert.equal(proposals.length, 0);
  assert.match(problems[0]?.issues[0] ?? "", /pending: is not a directory; refusing to use it/);
});

test("a queue file that is a link to a host secret or a FIFO is listed as a problem, never read", () => {
  using fixture = sidecarDir();
  const queue = new ProposalQueue(join(fixture.dir, "queue"));
  queue.ensure();
  symlinkSync(fixture.victim, join(queue.dir, "pending", "0000000a.json"));
  execFileSync("mkfifo", [join(queue.dir, "pending", "0000000b.json")]);
  const { proposals, problems } = queue.pending();
  assert.equal(proposals.length, 0);
  assert.deepEqual(
    problems.map((problem) => problem.issues.join()),
    [
      `(file): ${join(queue.dir, "pending", "0000000a.json")}: is a symbolic link; refusing to use it (a sidecar may have replaced it)`,
      `(file): ${join(queue.dir, "pending", "0000000b.json")}: is not a regular file; refusing to use it (a sidecar may have replaced it)`,
    ],
  );
});
