import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accessHook, preReceiveHook } from "../../../src/sidecars/git-gate/hooks.ts";
import { mirrorBytes } from "../../../src/sidecars/git-gate/mirror.ts";
import { awsKey, gateConfigFor, makeRepos, ZERO_SHA } from "./repos.ts";

describe("the pre-receive hook", () => {
  it("forwards a clean push upstream ref by ref and says so", async () => {
    using repos = makeRepos();
    const tip = repos.commit("a.txt", "a\n");
    const main = repos.ref(repos.upstream, "refs/heads/main");
    repos.offer("refs/heads/main");
    const outcome = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${tip} refs/heads/main\n${ZERO_SHA} ${tip} refs/heads/copy\n`,
    );
    assert.equal(outcome.exitCode, 0, outcome.stderr);
    assert.match(outcome.stderr ?? "", /scanned 1 commit \(\d+ new objects\), no secrets; forwarded 2 refs/);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), tip);
    assert.equal(repos.ref(repos.upstream, "refs/heads/copy"), tip);
  });

  it("refuses a push once the mirror holds more than limits.mirror, forwarding nothing", async () => {
    using repos = makeRepos();
    const main = repos.ref(repos.upstream, "refs/heads/main");
    const tip = repos.commit("big.txt", `${"x".repeat(200_000)}\n`);
    repos.offer("refs/heads/main");
    const updates = `${main} ${tip} refs/heads/main\n`;
    const held = await mirrorBytes(repos.gate);
    assert.ok(held > 0);
    const refused = await preReceiveHook(
      gateConfigFor(repos, undefined, 1024 ** 3, held - 1),
      repos.gate,
      updates,
    );
    assert.equal(refused.exitCode, 1);
    assert.match(
      refused.stderr ?? "",
      /^git-gate: push to app refused: the gate's copy of app holds [\d.]+ KiB with this push, over the bottle's limits\.mirror of [\d.]+ KiB\. Nothing was forwarded\. .*raise limits\.mirror/,
    );
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), main);
    // The same push at the cap: forwarded.
    const landed = await preReceiveHook(
      gateConfigFor(repos, undefined, 1024 ** 3, held),
      repos.gate,
      updates,
    );
    assert.equal(landed.exitCode, 0, landed.stderr);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), tip);
  });

  it("rejects a push with a secret and forwards nothing, not even its clean refs", async () => {
    using repos = makeRepos();
    const main = repos.ref(repos.upstream, "refs/heads/main");
    const tip = repos.commit("k.env", `KEY=${awsKey()}\n`);
    repos.offer("refs/heads/main");
    const outcome = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${tip} refs/heads/main\n${ZERO_SHA} ${main} refs/heads/clean\n`,
    );
    assert.equal(outcome.exitCode, 1);
    assert.match(outcome.stderr ?? "", new RegExp(`commit ${tip} file k\\.env line 1 column 5: rule aws`));
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), main);
    assert.equal(repos.ref(repos.upstream, "refs/heads/clean"), "");
  });

  it("rejects when upstream moved since the gate's view (the lease), naming the ref", async () => {
    using repos = makeRepos();
    const main = repos.ref(repos.upstream, "refs/heads/main");
    repos.git("checkout", "-q", "-b", "other");
    const elsewhere = repos.commit("b.txt", "b\n");
    repos.git("push", "-q", "origin", "other:main");
    repos.git("checkout", "-q", "main");
    const tip = repos.commit("a.txt", "a\n");
    repos.offer("refs/heads/main");
    const outcome = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${tip} refs/heads/main\n`,
    );
    assert.equal(outcome.exitCode, 1);
    assert.match(outcome.stderr ?? "", /refs\/heads\/main: refused by upstream: \[rejected\] \(stale info\)/);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), elsewhere);
  });

  it("forwards a deletion, and a forced update that upstream accepts", async () => {
    using repos = makeRepos();
    const main = repos.ref(repos.upstream, "refs/heads/main");
    repos.git("push", "-q", "origin", "main:refs/heads/doomed");
    repos.offer("refs/heads/main:refs/heads/doomed");
    repos.git("commit", "-q", "--amend", "-m", "rewritten");
    const rewritten = repos.git("rev-parse", "HEAD");
    repos.offer("refs/heads/main");
    const forced = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${rewritten} refs/heads/main\n`,
    );
    assert.equal(forced.exitCode, 0, forced.stderr);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), rewritten);
    const deleted = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${ZERO_SHA} refs/heads/doomed\n`,
    );
    assert.equal(deleted.exitCode, 0, deleted.stderr);
    assert.equal(repos.ref(repos.upstream, "refs/heads/doomed"), "");
  });

  it("rejects a forced update that upstream refuses (denyNonFastForwards)", async () => {
    using repos = makeRepos();
    repos.git("--git-dir", repos.upstream, "config", "receive.denyNonFastForwards", "true");
    const main = repos.ref(repos.upstream, "refs/heads/main");
    repos.git("commit", "-q", "--amend", "-m", "rewritten");
    const rewritten = repos.git("rev-parse", "HEAD");
    repos.offer("refs/heads/main");
    const outcome = await preReceiveHook(
      gateConfigFor(repos),
      repos.gate,
      `${main} ${rewritten} refs/heads/main\n`,
    );
    assert.equal(outcome.exitCode, 1);
    assert.match(outcome.stderr ?? "", /refs\/heads\/main: refused by upstream/);
    assert.equal(repos.ref(repos.upstream, "refs/heads/main"), main);
  });

  it("fails closed on input it does not understand", async () => {
    using repos = makeRepos();
    await assert.rejects(
      preReceiveHook(gateConfigFor(repos), repos.gate, "garbage\n"),
      /unexpected pre-receive input/,
    );
  });
});

describe("the access hook", () => {
  it("declines repositories the gate does not serve and services it does not offer", async () => {
    using repos = makeRepos();
    const config = gateConfigFor(repos);
    assert.match(
      (await accessHook(config, ["upload-pack", "/x/other.git"])).stdout ?? "",
      /no such repository/,
    );
    assert.match((await accessHook(config, ["upload-archive", repos.gate])).stdout ?? "", /not offered/);
  });
});
