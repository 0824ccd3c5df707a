import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { base62, crc32 } from "../../../src/lib/scanner/checksums.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker, testInstance } from "../docker/engine-available.ts";
import {
  buildUpstreamImage,
  commitUpstream,
  pemPrivateKey,
  type SshUpstream,
  startUpstream,
  UPSTREAM_IMAGE,
  UPSTREAM_REPO,
} from "./upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** Secrets minted at run time (valid shapes and checksums), so this file holds none. */
const SECRETS = {
  "an AWS access key": {
    file: "deploy.env",
    text: () => `AWS_ACCESS_KEY_ID=AKIA${randomUpper(16)}\n`,
    line: 3,
    rule: /aws/,
  },
  "a GitHub token": {
    file: "ci.yaml",
    text: () => {
      const body = randomBytes(30)
        .toString("base64")
        .replace(/[^A-Za-z0-9]/g, "x")
        .slice(0, 30);
      return `steps:\n  - run: echo\n    env:\n      TOKEN: ghp_${body}${base62(crc32(body), 6)}\n`;
    },
    line: 6,
    rule: /github/,
  },
  // The finding points at the key material, the line after the BEGIN line.
  "a private key": { file: "id_deploy", text: () => pemPrivateKey(), line: 4, rule: /private-key/ },
} as const;

function randomUpper(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

describe("git-gate in a launched bottle", { skip: docker.skip, timeout: 900_000 }, () => {
  let fixture: TempHome;
  let upstream: SshUpstream;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  const test = testInstance();
  let url = "";
  const exec = (command: string) =>
    runCliAsync(["exec", instance, "--", "sh", "-c", command], { env, cwd: fixture.project });
  const inRepo = (command: string) => exec(`cd /home/node/workspace/app && ${command}`);

  before(async () => {
    await buildUpstreamImage(engine);
    upstream = await startUpstream(engine, test.labels);
    fixture = tempHome();
    const key = fixture.write("keys/app_deploy", upstream.clientKey);
    const wrongKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdTgcNmZkNXqhYm0IOKrc0Wq5mB9F2tRtbjQyMrT5S9";
    url = `ssh://git@upstream.test:${upstream.port}${UPSTREAM_REPO}`;
    fixture.write(
      "bottles/gated.md",
      manifest(`
git:
  - Name: app
    Upstream: "${url}"
    IdentityFile: ${key}
    KnownHostKey: "${upstream.hostKey}"
    ExtraHosts: {upstream.test: ${upstream.address}}
  - Name: pinned-wrong
    Upstream: "ssh://git@upstream.test:${upstream.port}/srv/git/other.git"
    IdentityFile: ${key}
    KnownHostKey: "${wrongKey}"
    ExtraHosts: {upstream.test: ${upstream.address}}
  - Name: down
    Upstream: "ssh://git@down.test:1/srv/git/repo.git"
    IdentityFile: ${key}
    KnownHostKey: "${upstream.hostKey}"
    ExtraHosts: {down.test: ${upstream.address}}
`),
    );
    fixture.write("agents/coder.md", manifest("bottle: gated", "Write code."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await runCliAsync(["start", "coder", "--yes", "--detach"], { env, cwd: fixture.project });
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
    const setup = await exec(
      "git config --global user.email agent@test && git config --global user.name agent && mkdir -p /home/node/workspace",
    );
    assert.equal(setup.status, 0, setup.stderr);
  });

  after(async () => {
    if (instance) await runCliAsync(["stop", instance], { env, cwd: fixture.project });
    await upstream?.[Symbol.asyncDispose]();
    // CLAUDE_BOTTLE_TEST_KEEP_IMAGES=1 keeps the fixture image between runs while iterating.
    if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1") {
      await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
    }
    fixture?.[Symbol.dispose]();
  });

  it("rewrites the upstream URL to the gate in the agent's ~/.gitconfig, in a file git can append to", async () => {
    const result = await exec(
      "git config --global --get-all url.git://git-gate/app.git.insteadOf && git config --global --add test.appended yes && git config --global test.appended",
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${url}\nyes\n`);
  });

  it("clones through the gate what upstream holds", async () => {
    const result = await exec(`cd /home/node/workspace && git clone -q ${url} app && cat app/README`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "hello\n");
    const remote = await inRepo("git config remote.origin.url && git ls-remote --get-url origin");
    assert.equal(remote.stdout, `${url}\ngit://git-gate/app.git\n`);
  });

  it("refetches a commit made upstream after the clone", async () => {
    const sha = await commitUpstream(upstream, "upstream.txt", "from upstream");
    const result = await inRepo("git pull -q --ff-only && git rev-parse HEAD && cat upstream.txt");
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${sha}\nfrom upstream`);
  });

  it("forwards a clean push upstream", async () => {
    const result = await inRepo(
      "echo 'print(1)' > main.py && git add main.py && git commit -qm 'add main' && git push origin main 2>&1; git rev-parse HEAD",
    );
    assert.equal(result.status, 0, result.stderr);
    const head = result.stdout.trim().split("\n").at(-1);
    assert.match(result.stdout, /no secrets; forwarded 1 ref/);
    assert.equal(await upstream.ref("refs/heads/main"), head);
  });

  for (const [what, secret] of Object.entries(SECRETS)) {
    it(`rejects a push containing ${what}, naming commit, file, line and rule; upstream is unchanged`, async () => {
      const before = await upstream.ref("refs/heads/main");
      const content = `# config\n\n${secret.text()}`;
      const branch = `secret-${secret.file.replace(/\W/g, "")}`;
      const result = await inRepo(
        `git checkout -q -b ${branch} main && printf '%s' "$SECRET" > ${secret.file} && git add ${secret.file} && git commit -qm 'add ${secret.file}' && git rev-parse HEAD && git push origin ${branch} main:refs/heads/also-${branch} 2>&1; echo "rc=$?"; git checkout -q main`.replace(
          '"$SECRET"',
          `'${content.replaceAll("'", `'\\''`)}'`,
        ),
      );
      const commit = result.stdout.split("\n")[0]!;
      assert.match(result.stdout, /rc=1\b/, result.stdout);
      assert.match(result.stdout, /rejected \(1 secret found\); nothing was forwarded upstream/);
      const line = new RegExp(
        `commit ${commit} file ${secret.file.replace(".", "\\.")} line ${secret.line} column \\d+: rule (\\S+)`,
      );
      const rule = line.exec(result.stdout)?.[1] ?? "";
      assert.match(rule, secret.rule, result.stdout);
      assert.equal(await upstream.ref("refs/heads/main"), before);
      assert.equal(await upstream.ref(`refs/heads/${branch}`), "");
      assert.equal(await upstream.ref(`refs/heads/also-${branch}`), "");
    });
  }

  it("catches a secret added in an older commit of a multi-commit push, even when a later one removes it", async () => {
    const before = await upstream.ref("refs/heads/main");
    const key = `AKIA${randomUpper(16)}`;
    const result = await inRepo(
      [
        "git checkout -q -b layered main",
        "echo one > a.txt && git add a.txt && git commit -qm one",
        `printf 'x = 1\\naws_key = "${key}"\\n' > settings.py && git add settings.py && git commit -qm two`,
        "git rev-parse HEAD > /tmp/secret-commit",
        "git rm -q settings.py && git commit -qm three",
        "echo four > b.txt && git add b.txt && git commit -qm four",
        "git push origin layered 2>&1; echo rc=$?; cat /tmp/secret-commit; git checkout -q main",
      ].join(" && "),
    );
    const commit = result.stdout.trim().split("\n").at(-1)!;
    assert.match(result.stdout, /rc=1\b/);
    assert.match(
      result.stdout,
      new RegExp(`commit ${commit} file settings\\.py line 2 column \\d+: rule aws`),
    );
    assert.equal(await upstream.ref("refs/heads/layered"), "");
    assert.equal(await upstream.ref("refs/heads/main"), before);
  });

  it("follows upstream on a deletion and a forced update", async () => {
    const pushed = await inRepo(
      "git checkout -q -b doomed main && echo d > d.txt && git add d.txt && git commit -qm d && git push -q origin doomed 2>&1 && git commit -q --amend -m d2 && git push -q --force origin doomed 2>&1 && git rev-parse HEAD",
    );
    assert.equal(pushed.status, 0, pushed.stdout + pushed.stderr);
    assert.equal(await upstream.ref("refs/heads/doomed"), pushed.stdout.trim().split("\n").at(-1));
    const deleted = await inRepo("git push -q origin --delete doomed 2>&1; echo rc=$?; git checkout -q main");
    assert.match(deleted.stdout, /rc=0/);
    assert.equal(await upstream.ref("refs/heads/doomed"), "");
  });

  it("refuses a lightweight tag on a blob holding a secret, through the real gate; upstream unchanged", async () => {
    const key = `AKIA${randomUpper(16)}`;
    const result = await inRepo(
      `blob=$(printf 'aws_key = "${key}"\\n' | git hash-object -w --stdin) && git tag blob-leak $blob && git push origin refs/tags/blob-leak 2>&1; echo rc=$?; git tag -d blob-leak >/dev/null`,
    );
    assert.match(result.stdout, /rc=1\b/, result.stdout);
    assert.match(result.stdout, /refs\/tags\/blob-leak: file \(blob\) line 1 column \d+: rule aws/);
    assert.equal(await upstream.ref("refs/tags/blob-leak"), "");
  });

  it("leaves one audit line per push on the host, beside the other logs, never the secret", async () => {
    const dir = join(fixture.home, "logs", instance, "git-gate");
    assert.equal(statSync(dir).mode & 0o7777, 0o2770);
    const records = readFileSync(join(dir, "git-gate-audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { outcome: string; refs: { ref: string }[]; findings: { rule: string }[] },
      );
    const forwarded = records.find((record) => record.outcome === "forwarded");
    const refused = records.find((record) => record.refs.some((ref) => ref.ref === "refs/tags/blob-leak"));
    assert.ok(forwarded, JSON.stringify(records));
    assert.equal(refused?.outcome, "rejected-secrets");
    assert.match(refused?.findings[0]?.rule ?? "", /aws/);
    assert.doesNotMatch(readFileSync(join(dir, "git-gate-audit.jsonl"), "utf8"), /AKIA[A-Z2-7]{16}/);
  });

  it("refuses a push from a checkout that upstream moved past (the gate refreshes when the push connects)", async () => {
    await inRepo("git pull -q --ff-only");
    const moved = await commitUpstream(upstream, "race.txt", "upstream wins");
    // The gate refreshes when the push connects, so the agent's stale main is a non-fast-forward.
    const result = await inRepo(
      "echo mine > race.txt && git add race.txt && git commit -qm mine && git push origin main 2>&1; echo rc=$?",
    );
    assert.match(result.stdout, /rc=1\b/);
    assert.equal(await upstream.ref("refs/heads/main"), moved);
    await inRepo("git reset -q --hard origin/main && git pull -q --rebase");
  });

  it("fails closed with a clear message when the upstream's host key is not the pinned one", async () => {
    const result = await exec("git ls-remote git://git-gate/pinned-wrong.git 2>&1; echo rc=$?");
    assert.match(result.stdout, /rc=128\b/);
    assert.match(result.stdout, /host key does not match the KnownHostKey pinned in the bottle manifest/);
  });

  it("fails closed with a clear message when the upstream is unreachable, for fetch and push", async () => {
    const fetch = await exec("git ls-remote git://git-gate/down.git 2>&1; echo rc=$?");
    assert.match(fetch.stdout, /rc=128\b/);
    assert.match(fetch.stdout, /cannot refresh down .*cannot be reached from git-gate/);
    const push = await inRepo("git push git://git-gate/down.git main 2>&1; echo rc=$?");
    assert.match(push.stdout, /rc=128\b/);
    assert.match(push.stdout, /cannot be reached from git-gate/);
  });

  it("serves only the declared repositories", async () => {
    const result = await exec("git ls-remote git://git-gate/other.git 2>&1; echo rc=$?");
    assert.match(result.stdout, /rc=128\b/);
  });

  it("leaves the private key in the gate only (mode 600), never in the agent", async () => {
    const agent = await exec(
      "grep -rlsI -e 'PRIVATE KEY' -e 'OPENSSH' /home /etc /tmp /run /root /opt 2>/dev/null | grep -v ca-certificates; env | grep -ci 'private key'; echo done",
    );
    assert.equal(agent.stdout.trim(), "0\ndone");
    // And the gate's very key, by a line of its material, anywhere it could have been copied.
    const fragment = upstream.clientKey.split("\n")[2] ?? "";
    assert.ok(fragment.length > 40);
    const exact = await exec(
      `grep -rlsF '${fragment}' /home /etc /tmp /run /root /opt /var /usr/local 2>/dev/null; echo "rc=$?"`,
    );
    // No file listed; 1 is "no match", 2 "no match, and some path was unreadable" (e.g. /root).
    assert.match(exact.stdout.trim(), /^rc=[12]$/);
    const gate = await engine.containerExec(
      `cb-${instance}-git-gate`,
      ["stat", "-c", "%a %u", "/etc/claude-bottle/git-gate/keys/app"],
      { check: true },
    );
    assert.equal(gate.stdout.trim(), "600 1000");
  });
});
