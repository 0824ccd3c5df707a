import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fingerprintToken } from "../../../src/lib/scanner/index.ts";
import { scanPush } from "../../../src/sidecars/git-gate/scan-push.ts";
import { awsKey, makeRepos, ZERO_SHA } from "./repos.ts";

const options = { maxBlobBytes: 1024 * 1024 };

describe("the pre-receive scan of a pushed commit range", () => {
  it("finds a secret added by an older commit of the range even though a later commit removes it", async () => {
    using repos = makeRepos();
    const base = repos.git("rev-parse", "HEAD");
    repos.git("checkout", "-q", "-b", "feature");
    repos.commit("one.txt", "one\n");
    const leaky = repos.commit("settings.py", `x = 1\naws = "${awsKey()}"\n`);
    repos.git("rm", "-q", "settings.py");
    repos.git("commit", "-qm", "remove");
    const tip = repos.commit("two.txt", "two\n");
    repos.offer("refs/heads/feature");
    const result = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: tip, ref: "refs/heads/feature" }],
      options,
    );
    assert.equal(result.commits, 4);
    assert.equal(result.findings.length, 1);
    const [found] = result.findings;
    assert.equal(found?.commit, leaky);
    assert.equal(found?.path, "settings.py");
    assert.equal(found?.finding.line, 2);
    assert.match(found?.finding.ruleId ?? "", /aws/);
    assert.notEqual(found?.commit, base);
  });

  it("scans the whole content of a touched file; a secret upstream already holds there is a warning", async () => {
    using repos = makeRepos();
    // The file is scanned whole (a secret split across commits is whole in the file), but an
    // unrelated edit of a file whose secret is already upstream, at the same path, is not blocked.
    const key = awsKey();
    repos.git("checkout", "-q", "-b", "feature");
    repos.commit("conf.env", `A=1\nKEY=${key}\n`);
    repos.offer("refs/heads/feature");
    const first = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: repos.git("rev-parse", "HEAD"), ref: "refs/heads/feature" }],
      options,
    );
    assert.equal(first.findings.length, 1);
    // Now the first commit is upstream (a ref of the gate); push a change to line 1.
    repos.offer("refs/heads/feature:refs/heads/feature");
    const tip = repos.commit("conf.env", `A=2\nKEY=${key}\n`);
    repos.offer("refs/heads/feature");
    const second = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: tip, ref: "refs/heads/x" }],
      options,
    );
    assert.equal(second.commits, 1);
    assert.deepEqual(second.findings, []);
    assert.equal(second.warnings[0]?.finding.line, 2);
    assert.equal(second.warnings[0]?.commit, tip);
    // A second, new secret in the same file blocks.
    const third = repos.commit("conf.env", `A=2\nKEY=${key}\nOTHER=${key.replace("AKIA", "ASIA")}\n`);
    repos.offer("refs/heads/feature");
    const blocked = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: third, ref: "refs/heads/y" }],
      options,
    );
    assert.equal(blocked.findings.length, 1);
    assert.equal(blocked.findings[0]?.finding.line, 3);
  });

  it("does not rescan commits already reachable from the gate's refs (upstream has them)", async () => {
    using repos = makeRepos();
    repos.git("checkout", "-q", "-b", "feature");
    repos.commit("old.env", `KEY=${awsKey()}\n`);
    repos.offer("refs/heads/feature:refs/heads/feature");
    const tip = repos.commit("new.txt", "clean\n");
    repos.offer("refs/heads/feature");
    const result = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: tip, ref: "refs/heads/f2" }],
      options,
    );
    assert.equal(result.commits, 1);
    assert.deepEqual(result.findings, []);
  });

  it("scans commit messages and annotated tag messages", async () => {
    using repos = makeRepos();
    repos.git("checkout", "-q", "-b", "feature");
    const commit = repos.commit("a.txt", "a\n", `fix\n\ncreds: ${awsKey()}`);
    repos.git("tag", "-a", "v1", "-m", `release\n\n${awsKey()}`);
    repos.offer("refs/tags/v1");
    const tag = repos.git("rev-parse", "v1");
    const result = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: tag, ref: "refs/tags/v1" }],
      options,
    );
    const where = result.findings.map((finding) => `${finding.object} ${finding.path}`).sort();
    assert.deepEqual(where, [`${commit} (commit message)`, `${tag} (tag message)`].sort());
  });

  it("catches content that a merge commit itself introduces", async () => {
    using repos = makeRepos();
    repos.git("checkout", "-q", "-b", "side");
    repos.commit("side.txt", "side\n");
    repos.git("checkout", "-q", "main");
    repos.commit("main.txt", "main\n");
    repos.git("merge", "-q", "--no-commit", "side");
    repos.commit("evil.env", `KEY=${awsKey()}\n`, "merge side");
    const merge = repos.git("rev-parse", "HEAD");
    assert.equal(repos.git("rev-list", "--parents", "-n1", "HEAD").split(" ").length, 3);
    repos.offer("refs/heads/main");
    const result = await scanPush(
      repos.gate,
      [{ oldSha: ZERO_SHA, newSha: merge, ref: "refs/heads/main" }],
      options,
    );
    assert.deepEqual(
      result.findings.map((finding) => [finding.commit, finding.path]),
      [[merge, "evil.env"]],
    );
  });

  it("reports a file over the size limit instead of forwarding it unscanned", async () => {
    using repos = makeRepos();
    repos.git("checkout", "-q", "-b", "feature");
    const tip = repos.commit("big.bin", "x".repeat(5000));
    repos.offer("refs/heads/feature");
    const result = await scanPush(repos.gate, [{ oldSha: ZERO_SHA, newSha: tip, ref: "refs/heads/f" }], {
      maxBlobBytes: 4096,
    });
    assert.deepEqual(result.oversized, [
      { blob: repos.git("rev-parse", `${tip}:big.bin`), path: "big.bin", bytes: 5000 },
    ]);
  });

  it("finds the bottle's own tokens by fingerprint (known-token rule)", async () => {
    using repos = makeRepos();
    const token = "plain-looking-value-0f3a9c";
    repos.git("checkout", "-q", "-b", "feature");
    const tip = repos.commit("notes.txt", `see ${token} here\n`);
    repos.offer("refs/heads/feature");
    const result = await scanPush(repos.gate, [{ oldSha: ZERO_SHA, newSha: tip, ref: "refs/heads/f" }], {
      ...options,
      knownTokens: [fingerprintToken("GH_TOKEN", token)],
    });
    assert.equal(result.findings[0]?.finding.ruleId, "known-token:GH_TOKEN");
  });

  it("has nothing to scan for a deletion", async () => {
    using repos = makeRepos();
    const main = repos.git("rev-parse", "HEAD");
    const result = await scanPush(
      repos.gate,
      [{ oldSha: main, newSha: ZERO_SHA, ref: "refs/heads/main" }],
      options,
    );
    assert.deepEqual(result, { findings: [], warnings: [], oversized: [], objects: 0, commits: 0, blobs: 0 });
  });
});
