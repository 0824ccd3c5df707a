/**
 * Property: whatever shape a push takes (object types, tag nesting, how many commits, where the
 * secret sits, whether a later commit removes it), a secret anywhere reachable means "rejected and
 * upstream unchanged"; the same shape without the secret is forwarded. Shapes come from a seeded
 * generator, so a failure names a seed that reproduces it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { preReceiveHook } from "../../../src/sidecars/git-gate/hooks.ts";
import { createRandom, LOWER_ALNUM, type Random, UPPER_ALNUM } from "../../fixtures/scanner/prng.ts";
import { gateConfigFor, makeRepos, type Repos, run, ZERO_SHA } from "./repos.ts";

const PLACES = [
  "blob",
  "file-name",
  "dir-name",
  "commit-message",
  "author",
  "extra-header",
  "tag-message",
  "inner-tag-message",
  "ref-name",
] as const;
type Place = (typeof PLACES)[number];
const TIPS = ["branch", "light-tag-commit", "annotated-tag", "tag-tree", "tag-blob", "nested-tag"] as const;

/** A fresh AWS-shaped key per case, so no case passes because another pushed the same one. */
const secretFrom = (random: Random) => `AKIA${random.chars(UPPER_ALNUM.replace(/[018]/g, ""), 16)}`;

/** Builds one push in the work tree with plumbing; returns the ref update. */
function buildPush(repos: Repos, random: Random, place: Place | undefined, secret: string) {
  const git = (input: string, ...args: string[]) =>
    execFileSync("git", args, { cwd: repos.work, input, encoding: "utf8" }).trim();
  const word = () => random.chars(LOWER_ALNUM, 6);
  const at = (here: Place, text: string) => (place === here ? `${text} ${secret}` : text);
  const blob = (text: string) => git(text, "hash-object", "-w", "--stdin");
  const secretBlob = blob(place === "blob" ? `key = "${secret}"\n` : `plain ${word()}\n`);
  const fileName = place === "file-name" ? `${secret}.txt` : `${word()}.txt`;
  const dirName = place === "dir-name" ? `d-${secret}` : `d-${word()}`;
  const inner = git(`100644 blob ${secretBlob}\t${fileName}\n`, "mktree");
  const tree = git(`040000 tree ${inner}\t${dirName}\n100644 blob ${blob("readme\n")}\tREADME\n`, "mktree");
  let parent = run(repos.work, "rev-parse", "HEAD");
  const commit = (treeId: string, headers: string, message: string) =>
    git(
      `tree ${treeId}\nparent ${parent}\nauthor ${headers} 0 +0000\ncommitter c <c@test> 0 +0000\n${place === "extra-header" && message.startsWith("the") ? `x-note ${secret}\n` : ""}\n${message}\n`,
      "hash-object",
      "-t",
      "commit",
      "-w",
      "--stdin",
    );
  for (let index = random.int(3); index > 0; index--)
    parent = commit(run(repos.work, "rev-parse", "HEAD^{tree}"), "a <a@test>", `before ${word()}`);
  const authorName = place === "author" ? `Dev ${secret}` : "Dev";
  parent = commit(tree, `${authorName} <dev@test>`, at("commit-message", "the change"));
  // Sometimes a later commit removes everything the change added: the secret still counts.
  if (random.int(2) === 1)
    parent = commit(run(repos.work, "rev-parse", "HEAD^{tree}"), "a <a@test>", "revert");
  const tip =
    place === "inner-tag-message"
      ? "nested-tag"
      : random.pick(place === "tag-message" ? (["annotated-tag", "nested-tag"] as const) : TIPS);
  const tag = (object: string, type: string, message: string) =>
    git(
      `object ${object}\ntype ${type}\ntag t${word()}\ntagger t <t@test> 0 +0000\n\n${message}\n`,
      "hash-object",
      "-t",
      "tag",
      "-w",
      "--stdin",
    );
  let newSha = parent;
  // A tip that does not reach the change itself must still carry what is under test.
  if (tip === "tag-tree") newSha = tree;
  else if (tip === "tag-blob") newSha = place === "blob" ? secretBlob : tree;
  else if (tip === "annotated-tag") newSha = tag(parent, "commit", at("tag-message", "release"));
  else if (tip === "nested-tag")
    newSha = tag(tag(parent, "commit", at("inner-tag-message", at("tag-message", "inner"))), "tag", "outer");
  // Places a tree or blob tip cannot carry (messages, headers) keep the commit as the tip.
  if (
    (tip === "tag-tree" || tip === "tag-blob") &&
    ["commit-message", "author", "extra-header"].includes(place ?? "")
  )
    newSha = parent;
  const kind = tip === "branch" ? "heads" : "tags";
  const name = place === "ref-name" ? `r-${secret}` : `r-${word()}`;
  return { ref: `refs/${kind}/${name}`, newSha, oldSha: ZERO_SHA, tip };
}

describe("a secret anywhere a push reaches is refused, whatever the shape", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = createRandom(seed);
    const place = PLACES[(seed - 1) % PLACES.length]!;
    it(`seed ${seed}: secret in ${place}`, async () => {
      using repos = makeRepos();
      const secret = secretFrom(random);
      const update = buildPush(repos, random, place, secret);
      run(repos.gate, "fetch", "-q", "--no-write-fetch-head", repos.work, update.newSha);
      const before = run(repos.upstream, "for-each-ref");
      const outcome = await preReceiveHook(
        gateConfigFor(repos),
        repos.gate,
        `${update.oldSha} ${update.newSha} ${update.ref}\n`,
      );
      assert.equal(outcome.exitCode, 1, `${update.tip}: ${outcome.stderr}`);
      assert.equal(run(repos.upstream, "for-each-ref"), before, "upstream unchanged");
      assert.ok(!(outcome.stderr ?? "").includes(secret), "the secret is not echoed");
    });
  }

  for (let seed = 101; seed <= 110; seed++) {
    it(`seed ${seed}: the same shapes without a secret are forwarded`, async () => {
      using repos = makeRepos();
      const random = createRandom(seed);
      const update = buildPush(repos, random, undefined, "");
      run(repos.gate, "fetch", "-q", "--no-write-fetch-head", repos.work, update.newSha);
      const outcome = await preReceiveHook(
        gateConfigFor(repos),
        repos.gate,
        `${update.oldSha} ${update.newSha} ${update.ref}\n`,
      );
      assert.equal(outcome.exitCode, 0, `${update.tip}: ${outcome.stderr}`);
      assert.equal(repos.ref(repos.upstream, update.ref), update.newSha);
    });
  }
});
