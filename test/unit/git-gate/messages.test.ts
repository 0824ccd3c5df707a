import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { forwardArgs, parsePorcelain } from "../../../src/sidecars/git-gate/forward.ts";
import {
  MAX_LISTED,
  renderForwardRejection,
  renderSecretRejection,
} from "../../../src/sidecars/git-gate/messages.ts";
import { parseRefUpdates } from "../../../src/sidecars/git-gate/push-updates.ts";
import type { PushFinding } from "../../../src/sidecars/git-gate/scan-push.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const Z = "0".repeat(40);

function finding(line: number): PushFinding {
  return {
    ref: "refs/heads/main",
    object: "b".repeat(40),
    place: "blob",
    commit: A,
    path: "src/config.ts",
    finding: {
      ruleId: "aws-access-key-id",
      description: "AWS access key ID",
      line,
      column: 7,
      excerpt: "AKIA…[20 chars]",
      length: 20,
    },
  };
}

describe("rejection messages", () => {
  it("name commit, file, line, column and rule, with the masked excerpt only", () => {
    const text = renderSecretRejection("app", [finding(3)], []);
    assert.match(
      text,
      /^git-gate: push to app rejected \(1 secret found\); nothing was forwarded upstream\.\n/,
    );
    assert.match(
      text,
      new RegExp(
        `refs/heads/main: commit ${A} file src/config\\.ts line 3 column 7: rule aws-access-key-id \\(AWS access key ID\\) AKIA…\\[20 chars\\] \\(blob b{40}\\)`,
      ),
    );
    assert.match(text, /rotate it/);
  });

  it(`list at most ${MAX_LISTED} findings and count the rest`, () => {
    const text = renderSecretRejection(
      "app",
      Array.from({ length: 25 }, (_, index) => finding(index + 1)),
      [],
    );
    assert.equal(text.match(/^ {2}refs\/heads\/main: commit /gm)?.length, MAX_LISTED);
    assert.match(text, /\.\.\. and 5 more/);
    assert.match(text, /\(25 secrets found\)/);
  });

  it("say which files were too large to scan", () => {
    const text = renderSecretRejection("app", [], [{ blob: A, path: "data.bin", bytes: 99 }]);
    assert.match(text, /rejected \(1 file too large to scan\)/);
    assert.match(text, /blob a{40} file data\.bin: 99 bytes, over the gate's scan limit/);
  });

  it("for a forwarding refusal, say which refs landed and what upstream said", () => {
    const text = renderForwardRejection(
      "app",
      [
        { ref: "refs/heads/a", flag: "*", summary: "[new branch]" },
        { ref: "refs/heads/main", flag: "!", summary: "[remote rejected] (pre-receive hook declined)" },
      ],
      "remote: error: protected branch\nTo ssh://x\nerror: failed to push some refs\n",
    );
    assert.match(text, /refs\/heads\/a: forwarded upstream: \[new branch\]/);
    assert.match(text, /refs\/heads\/main: refused by upstream: \[remote rejected\]/);
    assert.match(text, /upstream: remote: error: protected branch/);
    assert.match(text, /did land upstream/);
    assert.doesNotMatch(text, /To ssh/);
  });
});

describe("forwarding", () => {
  it("leases every ref on the value the gate saw: empty for a creation, and deletes with an empty source", () => {
    const args = forwardArgs("ssh://git@h:22/r.git", [
      { oldSha: A, newSha: B, ref: "refs/heads/main" },
      { oldSha: Z, newSha: B, ref: "refs/heads/new" },
      { oldSha: A, newSha: Z, ref: "refs/heads/old" },
    ]);
    assert.deepEqual(args, [
      "push",
      "--porcelain",
      "--no-verify",
      `--force-with-lease=refs/heads/main:${A}`,
      "--force-with-lease=refs/heads/new:",
      `--force-with-lease=refs/heads/old:${A}`,
      "ssh://git@h:22/r.git",
      `${B}:refs/heads/main`,
      `${B}:refs/heads/new`,
      ":refs/heads/old",
    ]);
  });

  it("parses git push --porcelain per ref", () => {
    const out = `To ssh://h/r.git\n*\t${B}:refs/heads/new\t[new branch]\n!\t${B}:refs/heads/main\t[rejected] (stale info)\n-\t:refs/heads/old\t[deleted]\nDone\n`;
    assert.deepEqual(parsePorcelain(out), [
      { flag: "*", ref: "refs/heads/new", summary: "[new branch]" },
      { flag: "!", ref: "refs/heads/main", summary: "[rejected] (stale info)" },
      { flag: "-", ref: "refs/heads/old", summary: "[deleted]" },
    ]);
  });

  it("parses pre-receive input and refuses anything else", () => {
    assert.deepEqual(parseRefUpdates(`${A} ${B} refs/heads/main\n\n`), [
      { oldSha: A, newSha: B, ref: "refs/heads/main" },
    ]);
    for (const bad of [`${A} ${B} main`, `${A} ${B}`, `x ${B} refs/heads/a`, `${A} ${B} refs/heads/a b`]) {
      assert.throws(() => parseRefUpdates(bad), /unexpected pre-receive input/, bad);
    }
  });
});
