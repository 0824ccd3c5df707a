/**
 * Every shape of push an attacker can make, through the real pre-receive hook with real git: the
 * secret may sit in any object the push makes reachable (a tag on a blob or a tree, a nested tag's
 * message, an author, an extra commit header, a file or directory name, a ref name). Each must be
 * refused with upstream unchanged; the shapes real work uses (deletions, force pushes, many refs,
 * signed tags, submodules, LFS pointers) must still be forwarded.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { preReceiveHook } from "../../../src/sidecars/git-gate/hooks.ts";
import { awsKey, gateConfigFor, makeRepos, type Repos, run, ZERO_SHA } from "./repos.ts";

/** Git with stdin, in the work tree. */
function gitIn(repos: Repos, input: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: repos.work, input, encoding: "utf8" }).trim();
}

/** All refs upstream, as `sha ref` lines: what "upstream unchanged" compares. */
function upstreamRefs(repos: Repos): string {
  return run(repos.upstream, "for-each-ref", "--format=%(objectname) %(refname)");
}

/** Offers the work tree's objects for each ref to the gate, then runs the hook on the updates. */
async function push(
  repos: Repos,
  updates: { ref: string; newSha: string; oldSha?: string }[],
  audit?: string,
) {
  for (const update of updates) {
    if (update.newSha !== ZERO_SHA)
      run(repos.gate, "fetch", "-q", "--no-write-fetch-head", repos.work, update.newSha);
  }
  const stdin = updates.map((u) => `${u.oldSha ?? ZERO_SHA} ${u.newSha} ${u.ref}`).join("\n");
  return preReceiveHook(gateConfigFor(repos, audit), repos.gate, `${stdin}\n`);
}

async function assertRefused(
  repos: Repos,
  updates: { ref: string; newSha: string; oldSha?: string }[],
  where: RegExp,
): Promise<void> {
  const before = upstreamRefs(repos);
  const outcome = await push(repos, updates);
  assert.equal(outcome.exitCode, 1, outcome.stderr);
  assert.match(outcome.stderr ?? "", /rejected \(\d+ secrets? found\); nothing was forwarded upstream/);
  assert.match(outcome.stderr ?? "", where);
  assert.doesNotMatch(outcome.stderr ?? "", new RegExp(awsKey()), "the secret is never echoed");
  assert.equal(upstreamRefs(repos), before, "upstream unchanged");
}

const secretBlob = (repos: Repos) =>
  gitIn(repos, `aws_key = "${awsKey()}"\n`, "hash-object", "-w", "--stdin");
const cleanBlob = (repos: Repos) => gitIn(repos, "nothing here\n", "hash-object", "-w", "--stdin");
const treeOf = (repos: Repos, entries: string) => gitIn(repos, entries, "mktree");

describe("git-gate refuses a secret wherever the push puts it", () => {
  it("a lightweight tag pointing at a blob", async () => {
    using repos = makeRepos();
    const blob = secretBlob(repos);
    run(repos.work, "tag", "leak", blob);
    await assertRefused(
      repos,
      [{ ref: "refs/tags/leak", newSha: blob }],
      /refs\/tags\/leak: file \(blob\) line 1 .*rule aws/,
    );
  });

  it("a tag pointing at a tree", async () => {
    using repos = makeRepos();
    const tree = treeOf(repos, `100644 blob ${secretBlob(repos)}\tcreds.txt\n`);
    run(repos.work, "tag", "tree-tag", tree);
    await assertRefused(
      repos,
      [{ ref: "refs/tags/tree-tag", newSha: tree }],
      /refs\/tags\/tree-tag: file creds\.txt line 1/,
    );
  });

  it("an annotated tag on a blob", async () => {
    using repos = makeRepos();
    run(repos.work, "tag", "-a", "-m", "release", "ann", secretBlob(repos));
    const tag = run(repos.work, "rev-parse", "refs/tags/ann");
    await assertRefused(repos, [{ ref: "refs/tags/ann", newSha: tag }], /refs\/tags\/ann: file \(blob\)/);
  });

  it("a tag wrapping an inner tag whose message holds the secret", async () => {
    using repos = makeRepos();
    run(repos.work, "tag", "-a", "-m", `inner ${awsKey()}`, "inner", "HEAD");
    run(repos.work, "tag", "-a", "-m", "outer", "outer", "inner");
    const outer = run(repos.work, "rev-parse", "refs/tags/outer");
    const inner = run(repos.work, "rev-parse", "refs/tags/inner");
    run(repos.work, "tag", "-d", "inner");
    await assertRefused(
      repos,
      [{ ref: "refs/tags/outer", newSha: outer }],
      new RegExp(`refs/tags/outer: tag ${inner} \\(tag message\\)`),
    );
  });

  it("the author's name or e-mail", async () => {
    using repos = makeRepos();
    writeFileSync(join(repos.work, "a.txt"), "a\n");
    run(repos.work, "add", "a.txt");
    run(repos.work, "commit", "-qm", "innocent", `--author=Dev ${awsKey()} <dev@example.test>`);
    const tip = run(repos.work, "rev-parse", "HEAD");
    await assertRefused(
      repos,
      [{ ref: "refs/heads/main", newSha: tip, oldSha: repos.ref(repos.upstream, "refs/heads/main") }],
      /commit [0-9a-f]{40} \(commit header\) line 3/,
    );
  });

  it("an extra commit header (a raw commit that passes fsck)", async () => {
    using repos = makeRepos();
    const parent = run(repos.work, "rev-parse", "HEAD");
    const tree = run(repos.work, "rev-parse", "HEAD^{tree}");
    const raw = `tree ${tree}\nparent ${parent}\nauthor t <t@test> 0 +0000\ncommitter t <t@test> 0 +0000\nx-token ${awsKey()}\n\nplain message\n`;
    const commit = gitIn(repos, raw, "hash-object", "-t", "commit", "-w", "--stdin");
    run(repos.work, "fsck", "--no-dangling");
    await assertRefused(repos, [{ ref: "refs/heads/extra", newSha: commit }], /\(commit header\) line 5/);
  });

  it("a file name and a directory name", async () => {
    using repos = makeRepos();
    const blob = cleanBlob(repos);
    const dir = treeOf(repos, `100644 blob ${blob}\tinner.txt\n`);
    for (const [shown, entry] of [
      [/path name AKIA…\[20 chars\]\.txt line 1/, `100644 blob ${blob}\t${awsKey()}.txt\n`],
      [/path name d-AKIA…\[20 chars\]\/inner\.txt line 1/, `040000 tree ${dir}\td-${awsKey()}\n`],
    ] as const) {
      const tree = treeOf(repos, entry);
      const commit = gitIn(repos, "names\n", "commit-tree", tree, "-p", "HEAD");
      await assertRefused(repos, [{ ref: "refs/heads/names", newSha: commit }], shown);
    }
  });

  it("the name of an empty directory", async () => {
    using repos = makeRepos();
    const empty = treeOf(repos, "");
    const tree = treeOf(repos, `040000 tree ${empty}\td-${awsKey()}\n`);
    const commit = gitIn(repos, "empty dir\n", "commit-tree", tree, "-p", "HEAD");
    await assertRefused(
      repos,
      [{ ref: "refs/heads/empty", newSha: commit }],
      /path name d-AKIA…\[20 chars\] line 1/,
    );
  });

  it("a new encoded secret behind the same lead-in as one upstream holds is not waved through as known", async () => {
    using repos = makeRepos();
    const encoded = (key: string) =>
      Buffer.from(`aws_access_key_id = ${key} # the same long lead-in`).toString("hex");
    repos.commit("blob.hex", `${encoded(awsKey())}\n`);
    run(repos.work, "push", "-q", "origin", "main");
    run(repos.gate, "fetch", "-q", repos.upstream, "+refs/heads/*:refs/heads/*");
    const old = repos.ref(repos.upstream, "refs/heads/main");
    const tip = repos.commit("blob.hex", `${encoded(awsKey().replace("AKIA", "ASIA"))}\n`);
    await assertRefused(
      repos,
      [{ ref: "refs/heads/main", newSha: tip, oldSha: old }],
      /file blob\.hex line 1/,
    );
  });

  it("a ref name", async () => {
    using repos = makeRepos();
    const head = run(repos.work, "rev-parse", "HEAD");
    await assertRefused(
      repos,
      [{ ref: `refs/heads/${awsKey()}`, newSha: head }],
      /refs\/heads\/AKIA…\[20 chars\]: \(ref name\) line 1 .*rule aws/,
    );
  });

  it("a secret removed by a later commit still counts", async () => {
    using repos = makeRepos();
    repos.commit("leak.env", `KEY=${awsKey()}\n`);
    run(repos.work, "rm", "-q", "leak.env");
    run(repos.work, "commit", "-qm", "remove");
    const tip = run(repos.work, "rev-parse", "HEAD");
    await assertRefused(
      repos,
      [{ ref: "refs/heads/main", newSha: tip, oldSha: repos.ref(repos.upstream, "refs/heads/main") }],
      /file leak\.env line 1/,
    );
  });
});

describe("git-gate still forwards the shapes real work uses", () => {
  async function assertForwarded(repos: Repos, updates: { ref: string; newSha: string; oldSha?: string }[]) {
    const outcome = await push(repos, updates);
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    for (const update of updates)
      assert.equal(repos.ref(repos.upstream, update.ref), update.newSha === ZERO_SHA ? "" : update.newSha);
  }

  it("deletions, force pushes and many refs at once", async () => {
    using repos = makeRepos();
    const main = repos.ref(repos.upstream, "refs/heads/main");
    const many = Array.from({ length: 30 }, (_, index) => ({
      ref: `refs/heads/b${index}`,
      newSha: repos.commit(`f${index}.txt`, `${index}\n`),
    }));
    await assertForwarded(repos, many);
    await assertForwarded(repos, [{ ref: "refs/heads/b0", newSha: ZERO_SHA, oldSha: many[0]!.newSha }]);
    run(repos.work, "reset", "-q", "--hard", main);
    const rewritten = repos.commit("other.txt", "other\n");
    await assertForwarded(repos, [{ ref: "refs/heads/b1", newSha: rewritten, oldSha: many[1]!.newSha }]);
  });

  it("annotated and signed tags", async () => {
    using repos = makeRepos();
    const key = join(repos.root, "signing");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f", key]);
    run(repos.work, "tag", "-a", "-m", "release 1", "v1");
    run(
      repos.work,
      "-c",
      "gpg.format=ssh",
      "-c",
      `user.signingkey=${key}`,
      "tag",
      "-s",
      "-m",
      "signed release",
      "v2",
    );
    assert.match(run(repos.work, "cat-file", "-p", "v2"), /BEGIN SSH SIGNATURE/);
    await assertForwarded(repos, [
      { ref: "refs/tags/v1", newSha: run(repos.work, "rev-parse", "refs/tags/v1") },
      { ref: "refs/tags/v2", newSha: run(repos.work, "rev-parse", "refs/tags/v2") },
    ]);
  });

  it("a submodule gitlink and an LFS pointer file", async () => {
    using repos = makeRepos();
    writeFileSync(
      join(repos.work, ".gitmodules"),
      '[submodule "lib"]\n\tpath = vendor/lib\n\turl = https://example.test/lib.git\n',
    );
    run(repos.work, "update-index", "--add", "--cacheinfo", `160000,${"a1".repeat(20)},vendor/lib`);
    writeFileSync(
      join(repos.work, "model.bin"),
      "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
    );
    run(repos.work, "add", ".gitmodules", "model.bin");
    run(repos.work, "commit", "-qm", "submodule and lfs");
    const tip = run(repos.work, "rev-parse", "HEAD");
    await assertForwarded(repos, [
      { ref: "refs/heads/main", newSha: tip, oldSha: repos.ref(repos.upstream, "refs/heads/main") },
    ]);
  });

  it("an unrelated edit of a file whose secret is already upstream, with a warning; one line of audit per push", async () => {
    using repos = makeRepos();
    const audit = join(repos.root, "git-gate-audit.jsonl");
    repos.commit("legacy.env", `A=1\nKEY=${awsKey()}\n`);
    run(repos.work, "push", "-q", "origin", "main");
    run(repos.gate, "fetch", "-q", repos.upstream, "+refs/heads/*:refs/heads/*");
    const old = repos.ref(repos.upstream, "refs/heads/main");
    const tip = repos.commit("legacy.env", `A=2\nKEY=${awsKey()}\n`);
    const outcome = await push(repos, [{ ref: "refs/heads/main", newSha: tip, oldSha: old }], audit);
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    assert.match(outcome.stderr ?? "", /warning: 1 secret is already upstream at the same path/);
    assert.match(outcome.stderr ?? "", /no new secrets; forwarded 1 ref/);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), tip);
    const record = JSON.parse(readFileSync(audit, "utf8").trim()) as Record<string, unknown>;
    assert.equal(record.outcome, "forwarded");
    assert.deepEqual(record.refs, [{ ref: "refs/heads/main", old, new: tip }]);
    assert.equal((record.warnings as unknown[]).length, 1);
    assert.doesNotMatch(JSON.stringify(record), new RegExp(awsKey().slice(4, 12)), "no part of the secret");
  });
});
