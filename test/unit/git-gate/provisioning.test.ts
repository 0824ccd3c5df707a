import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  gateExtraHosts,
  gitGateFiles,
  renderGitGateConfig,
} from "../../../src/backend/docker/provision/git-gate-files.ts";
import { gitConfigCommands, upstreamSpellings } from "../../../src/backend/docker/provision/git-remotes.ts";
import { GIT_GATE, gateConfigSchema } from "../../../src/contracts/git-gate.ts";
import type { BottlePlan, PlannedGitRemote } from "../../../src/plan/bottle-plan.ts";
import { Secret } from "../../../src/plan/secret.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdTgcNmZkNXqhYm0IOKrc0Wq5mB9F2tRtbjQyMrT5S9";

function remote(overrides: Partial<PlannedGitRemote> = {}): PlannedGitRemote {
  return {
    name: "app",
    upstream: "git@github.com:acme/app.git",
    gateUrl: "git://git-gate/app.git",
    user: "git",
    host: "github.com",
    port: 22,
    path: "acme/app.git",
    identityFile: "/home/u/.ssh/app",
    knownHostKey: KEY,
    extraHosts: {},
    ...overrides,
  };
}

function plan(remotes: PlannedGitRemote[]): BottlePlan {
  return {
    gitRemotes: remotes,
    credProxy: {
      routes: [],
      slots: [{ slot: "GH", tokenRef: "GH", hosts: [], value: new Secret("tok-123") }],
    },
    limits: { pushBytes: 5 * 1024 ** 2 },
  } as unknown as BottlePlan;
}

describe("the agent's ~/.gitconfig rewrites", () => {
  it("point the manifest's spelling and the other SSH spelling of the upstream at the gate", () => {
    assert.deepEqual(gitConfigCommands([remote()]), [
      ["git", "config", "--global", "--unset-all", "url.git://git-gate/app.git.insteadOf"],
      [
        "git",
        "config",
        "--global",
        "--add",
        "url.git://git-gate/app.git.insteadOf",
        "git@github.com:acme/app.git",
      ],
      [
        "git",
        "config",
        "--global",
        "--add",
        "url.git://git-gate/app.git.insteadOf",
        "ssh://git@github.com/acme/app.git",
      ],
    ]);
  });

  it("add no shorter prefix (it would capture other repositories) and no other port's spelling", () => {
    assert.deepEqual(upstreamSpellings({ upstream: "ssh://git@h:2222/a/b.git" }), [
      "ssh://git@h:2222/a/b.git",
    ]);
    for (const spelling of upstreamSpellings({ upstream: "ssh://git@h/a/b.git" })) {
      assert.ok(spelling.endsWith("a/b.git"), spelling);
    }
  });
});

describe("the gate's files", () => {
  it("render a config the gate's own schema accepts, upstream URLs as written, token fingerprints only", () => {
    const rendered = renderGitGateConfig(
      plan([
        remote(),
        remote({
          name: "lib",
          upstream: "ssh://git@[::1]:2222/x.git",
          host: "::1",
          port: 2222,
          path: "/x.git",
        }),
      ]),
    );
    const parsed = gateConfigSchema.parse(rendered);
    assert.deepEqual(
      parsed.remotes.map((entry) => entry.url),
      ["git@github.com:acme/app.git", "ssh://git@[::1]:2222/x.git"],
    );
    assert.equal(parsed.scan.known_tokens[0]?.length, 7);
    assert.equal(parsed.max_push_bytes, 5 * 1024 ** 2, "the bottle's limits.push");
    assert.doesNotMatch(JSON.stringify(rendered), /tok-123/);
  });

  it("hold the key with mode 600 for the gate user, and the pinned key as known_hosts", () => {
    const files = gitGateFiles(plan([remote()]), new Map([["app", Buffer.from("KEY BYTES")]]));
    const key = files.find((file) => file.path === `${GIT_GATE.keysDir.slice(1)}/app`);
    assert.deepEqual(
      { mode: key?.mode, uid: key?.uid, content: String(key?.content) },
      { mode: 0o600, uid: 1000, content: "KEY BYTES" },
    );
    const knownHosts = files.find((file) => file.path === `${GIT_GATE.knownHostsDir.slice(1)}/app`);
    assert.equal(knownHosts?.content, `git-gate-upstream-app ${KEY}\n`);
  });

  it("merge ExtraHosts and refuse one name mapped to two addresses", () => {
    assert.deepEqual(
      gateExtraHosts(
        plan([
          remote({ extraHosts: { "a.test": "10.0.0.1" } }),
          remote({ name: "b", extraHosts: { "a.test": "10.0.0.1", "b.test": "10.0.0.2" } }),
        ]),
      ),
      { "a.test": "10.0.0.1", "b.test": "10.0.0.2" },
    );
    assert.throws(
      () =>
        gateExtraHosts(
          plan([
            remote({ extraHosts: { "a.test": "10.0.0.1" } }),
            remote({ name: "b", extraHosts: { "a.test": "10.0.0.9" } }),
          ]),
        ),
      /two different addresses/,
    );
  });
});
