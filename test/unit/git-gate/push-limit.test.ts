import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { prepareMirror } from "../../../src/sidecars/git-gate/mirror.ts";
import { gateConfigFor, makeRepos, run } from "./repos.ts";

// The bottle's limits.push: a pack bigger than it is refused while it arrives, before any scan.
test("a push whose pack exceeds limits.push is refused by the gate's mirror; a small one lands", async () => {
  using repos = makeRepos();
  const config = gateConfigFor(repos, undefined, 64 * 1024);
  const mirror = await prepareMirror(config, config.remotes[0]!);
  const work = join(repos.root, "work");
  run(work, "config", "user.email", "a@test");
  run(work, "config", "user.name", "a");

  writeFileSync(join(work, "small.txt"), "small\n");
  run(work, "add", "small.txt");
  run(work, "commit", "-qm", "small");
  const small = spawnSync("git", ["push", mirror, "HEAD:refs/heads/small"], { cwd: work, encoding: "utf8" });
  assert.equal(small.status, 0, small.stderr);

  // Random bytes do not compress: the pack is about as big as the file.
  writeFileSync(join(work, "big.bin"), randomBytes(512 * 1024));
  run(work, "add", "big.bin");
  run(work, "commit", "-qm", "big");
  const big = spawnSync("git", ["push", mirror, "HEAD:refs/heads/big"], { cwd: work, encoding: "utf8" });
  assert.notEqual(big.status, 0);
  assert.match(big.stderr, /pack exceeds maximum allowed size/);
  assert.equal(
    spawnSync("git", ["rev-parse", "--verify", "-q", "refs/heads/big"], { cwd: mirror }).status,
    1,
  );
});
