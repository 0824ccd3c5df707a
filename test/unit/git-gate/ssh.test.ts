import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { knownHostsLine } from "../../../src/contracts/git-gate.ts";
import {
  classifyUpstreamFailure,
  describeUpstreamFailure,
  sshCommand,
} from "../../../src/sidecars/git-gate/ssh.ts";

const KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIBdTgcNmZkNXqhYm0IOKrc0Wq5mB9F2tRtbjQyMrT5S9";

describe("the pinned host key", () => {
  it("becomes one known_hosts line under the gate's alias, from a bare key or a known_hosts line", () => {
    for (const value of [
      `ssh-ed25519 ${KEY}`,
      `ssh-ed25519 ${KEY} comment here`,
      `github.com ssh-ed25519 ${KEY}`,
      `[h]:2222 ssh-ed25519 ${KEY}`,
    ]) {
      assert.equal(knownHostsLine("alias", value), `alias ssh-ed25519 ${KEY}\n`, value);
    }
  });

  it("is refused when it is no public key", () => {
    for (const value of [
      "",
      "ssh-ed25519",
      `ssh-dss ${KEY}`,
      `a b ssh-ed25519 ${KEY}`,
      "ssh-ed25519 not*base64",
    ]) {
      assert.equal(knownHostsLine("alias", value), undefined, value);
    }
  });
});

describe("the gate's ssh command", () => {
  const remote = {
    identity_file: "/etc/k/app",
    known_hosts_file: "/etc/kh/app",
    host_key_alias: "git-gate-upstream-app",
  };
  it("uses only the gate's key and the pinned host key, never trust on first use", () => {
    const command = sshCommand(remote);
    for (const option of [
      "-F /dev/null",
      "-i /etc/k/app",
      "-o IdentitiesOnly=yes",
      "-o BatchMode=yes",
      "-o StrictHostKeyChecking=yes",
      "-o UserKnownHostsFile=/etc/kh/app",
      "-o GlobalKnownHostsFile=/dev/null",
      "-o HostKeyAlias=git-gate-upstream-app",
    ]) {
      assert.ok(command.includes(option), option);
    }
    assert.doesNotMatch(command, /accept-new|StrictHostKeyChecking=no/);
  });

  it("refuses paths that the shell would reinterpret", () => {
    assert.throws(() => sshCommand({ ...remote, identity_file: "/etc/k/a; rm -rf /" }), /unsafe path/);
  });
});

describe("upstream failures", () => {
  const cases: [string, boolean, ReturnType<typeof classifyUpstreamFailure>][] = [
    [
      "@@@@\n@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\nHost key verification failed.\n",
      false,
      "host-key",
    ],
    [
      "No ED25519 host key is known for git-gate-upstream-app and you have requested strict checking.\nHost key verification failed.",
      false,
      "host-key",
    ],
    [
      "ssh: connect to host down.test port 1: Connection refused\nfatal: Could not read from remote repository.",
      false,
      "unreachable",
    ],
    ["ssh: Could not resolve hostname nowhere: Name or service not known", false, "unreachable"],
    ["git@h: Permission denied (publickey).", false, "auth"],
    ["", true, "timeout"],
    ["fatal: '/x.git' does not appear to be a git repository", false, "other"],
  ];
  for (const [stderr, timedOut, kind] of cases) {
    it(`are classified as ${kind}: ${JSON.stringify(stderr.slice(0, 40))}`, () => {
      assert.equal(classifyUpstreamFailure(stderr, timedOut), kind);
    });
  }

  it("read as one line naming the remote, the cause in plain words and ssh's own words", () => {
    const text = describeUpstreamFailure(
      "refresh",
      { name: "app", upstream: "git@h:a/b.git" },
      "@@@\nHost key verification failed.\nfatal: Could not read from remote repository.\n",
      false,
    );
    assert.equal(text.includes("\n"), false);
    assert.match(
      text,
      /^git-gate: cannot refresh app \(git@h:a\/b\.git\): the upstream's SSH host key does not match the KnownHostKey pinned/,
    );
    assert.match(text, /\[Host key verification failed\.\]$/);
  });
});
