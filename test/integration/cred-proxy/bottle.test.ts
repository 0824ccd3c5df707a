import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { bridgeGateway } from "../../../src/cli/demo/git-upstream.ts";
import { CRED_PROXY } from "../../../src/contracts/cred-proxy.ts";

import { runCliAsync } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** A fresh token per run, shaped so no generic rule would have a reason to find it. */
const CORE = randomBytes(20).toString("hex");
const TOKEN = `cbtest_${CORE}`;

describe("cred-proxy in a launched bottle", { skip: docker.skip, timeout: 600_000 }, () => {
  let fixture: TempHome;
  let upstream: FakeUpstream;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let base = "";
  const exec = (command: string) =>
    runCliAsync(["exec", instance, "--", "sh", "-c", command], { env, cwd: fixture.project });
  const credProxy = () => `cb-${instance}-cred-proxy`;

  before(async () => {
    fixture = tempHome();
    upstream = await startFakeUpstream();
    base = `https://upstream.test:${upstream.port}`;
    fixture.write(
      "bottles/api.md",
      manifest(`
cred_proxy:
  routes:
    - path: /api
      upstream: ${base}
      auth_scheme: Bearer
      token_ref: CB_TEST_TOKEN
      role: anthropic-base-url
    - path: /git
      upstream: ${base}
      auth_scheme: token
      token_ref: CB_TEST_TOKEN
      role: [git-insteadof, npm-registry, tea-login]
egress:
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${await bridgeGateway(engine)}/32"]
  upstream_ca: ["${upstream.caFile}"]
`),
    );
    fixture.write("agents/user.md", manifest("bottle: api", "Use the API."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home, CB_TEST_TOKEN: TOKEN };
    const started = await runCliAsync(["start", "user", "--yes", "--detach"], { env, cwd: fixture.project });
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
    assert.ok(!started.stderr.includes(CORE), "start printed the token");
  });

  after(async () => {
    if (instance) await runCliAsync(["stop", instance], { env, cwd: fixture.project });
    upstream?.close();
    fixture?.[Symbol.dispose]();
  });

  it("gives the upstream the real token in place of the one the client sent", async () => {
    const result = await exec(
      `curl -sS -m 30 -H 'Authorization: Bearer agent-invented' -H 'x-api-key: agent-invented' "$ANTHROPIC_BASE_URL/v1/echo"`,
    );
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { ok: true, url: "/v1/echo" });
    const seen = upstream.seen.find((request) => request.url === "/v1/echo");
    assert.equal(seen?.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen?.headers["x-api-key"], undefined);
  });

  it("points Claude Code at the route with a placeholder credential", async () => {
    const result = await exec('echo "$ANTHROPIC_BASE_URL"; echo "$CLAUDE_CODE_OAUTH_TOKEN"');
    assert.equal(
      result.stdout,
      "http://cred-proxy:9099/api\nclaude-bottle-placeholder-cred-proxy-injects-the-real-token\n",
    );
  });

  it("leaves nothing of the token in the agent: env, /proc/*/environ, /proc/*/cmdline, the filesystem", async () => {
    const needles = [CORE, CORE.slice(8, 24)];
    // The needle reaches the container in two halves, joined into a pattern file under /dev
    // (excluded from the walk): a needle on the command line would find itself in /proc/*/cmdline.
    const search = (needle: string) =>
      [
        `printf '%s%s\\n' '${needle.slice(0, 6)}' '${needle.slice(6)}' > /dev/shm/needle`,
        "env | grep -cFf /dev/shm/needle",
        "cat /proc/[0-9]*/environ 2>/dev/null | grep -acFf /dev/shm/needle",
        "cat /proc/[0-9]*/cmdline 2>/dev/null | grep -acFf /dev/shm/needle",
        "grep -rlsF --devices=skip --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -f /dev/shm/needle / | wc -l",
        "rm /dev/shm/needle",
      ].join("; ");
    for (const needle of needles) {
      const result = await exec(search(needle));
      assert.deepEqual(result.stdout.trim().split("\n"), ["0", "0", "0", "0"], result.stderr);
    }
    // Not a vacuous search: it finds the placeholder, which is in the env and in ~/.npmrc.
    const placeholder = (await exec(search("injects-the-real-token"))).stdout.trim().split("\n");
    assert.ok(
      placeholder[0] !== "0" && placeholder[1] !== "0" && placeholder[3] !== "0",
      placeholder.join(","),
    );
    // And the token is where it belongs: cred-proxy's environment.
    const control = await engine.containerExec(credProxy(), [
      "sh",
      "-c",
      `cat /proc/[0-9]*/environ 2>/dev/null | grep -ac '${CORE}'`,
    ]);
    assert.notEqual(control.stdout.trim(), "0");
    const inspect = (name: string) => execFileSync("docker", ["inspect", name], { encoding: "utf8" });
    assert.ok(!inspect(`cb-${instance}-agent`).includes(CORE), "the agent container's config holds it");
    assert.ok(inspect(credProxy()).includes(CORE));
    const routes = await engine.containerExec(credProxy(), [
      "sh",
      "-c",
      `stat -c %a ${CRED_PROXY.routesFile}; cat ${CRED_PROXY.routesFile}`,
    ]);
    assert.match(routes.stdout, /^600\n/);
    assert.ok(!routes.stdout.includes(CORE) && !routes.stdout.includes("CB_TEST_TOKEN"), routes.stdout);
  });

  it("streams SSE event by event", async () => {
    // Reads the first event, then asks the upstream to send the second: buffering would deadlock.
    const script = `
      const url = process.env.ANTHROPIC_BASE_URL;
      const res = await fetch(url + "/sse");
      const reader = res.body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      await (await fetch(url + "/sse-release")).text();
      let rest = "";
      for (;;) { const { value, done } = await reader.read(); if (done) break; rest += new TextDecoder().decode(value); }
      console.log(JSON.stringify({ type: res.headers.get("content-type"), first, rest }));
    `;
    const result = await exec(`timeout 30 node --input-type=module -e '${script}'`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      type: "text/event-stream",
      first: "event: one\ndata: first\n\n",
      rest: "event: two\ndata: second\n\n",
    });
  });

  it("fetches over HTTPS through the git-insteadof rewrite, and refuses a push with 403 naming git-gate", async () => {
    const before = upstream.refs();
    const result = await exec(
      [
        "set -e",
        "cd /tmp && rm -rf clone",
        `git clone -q ${base}/repo.git clone`,
        "cd clone && git log --format=%s",
        "git -c user.name=a -c user.email=a@a commit -q --allow-empty -m pushed",
        "if git push -q origin HEAD:main 2>/tmp/push.err; then echo push-succeeded; else echo push-refused; fi",
        "cat /tmp/push.err",
      ].join("\n"),
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^initial\npush-refused\n/);
    assert.match(result.stdout, /403/);
    assert.equal(upstream.refs(), before, "the push must not land");
    assert.ok(upstream.seen.some((request) => request.url.includes("service=git-upload-pack")));
    assert.ok(!upstream.seen.some((request) => request.url.includes("receive-pack")));

    const refused = await exec(
      `curl -sS -m 30 -i 'http://cred-proxy:9099/git/repo.git/info/refs?service=git-receive-pack'`,
    );
    assert.match(refused.stdout, /^HTTP\/1\.1 403/);
    assert.match(refused.stdout, /X-Bottle-Block: git-push-https/i);
    assert.match(refused.stdout, /git-gate/);
  });

  it("writes the npm, tea and git configs of the roles, owned by the agent", async () => {
    const result = await exec(
      "stat -c '%u %a %n' ~/.npmrc ~/.config/tea/config.yml ~/.config/claude-bottle/cred-proxy.gitconfig ~/.config; cat ~/.npmrc ~/.config/tea/config.yml; git config --global --get-all include.path",
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^1000 600 \/home\/node\/\.npmrc\n1000 600 .*config\.yml\n1000 644 .*gitconfig\n1000 \d+ \/home\/node\/\.config\n/,
    );
    assert.match(result.stdout, /^registry=http:\/\/cred-proxy:9099\/git\/$/m);
    assert.match(result.stdout, /url: "http:\/\/cred-proxy:9099\/git"/);
    assert.match(result.stdout, /cred-proxy\.gitconfig$/m);
    assert.ok(!result.stdout.includes(CORE));
  });

  it("reloads routes on SIGHUP without restarting anything", async () => {
    const id = (await engine.containerInspect(credProxy()))?.id;
    const missing = await exec(
      "curl -sS -m 30 -o /dev/null -w '%{http_code}' http://cred-proxy:9099/v2/echo",
    );
    assert.equal(missing.stdout, "404");
    const routesFile = {
      version: 1,
      bottle: "api",
      supervise: false,
      routes: [
        { path: "/v2", upstream: base, auth_scheme: "x-api-key", slot: "CRED_PROXY_TOKEN_0", roles: [] },
        { path: "/api", upstream: base, auth_scheme: "Bearer", slot: "CRED_PROXY_TOKEN_0", roles: [] },
      ],
      git_remotes: [],
    };
    await engine.containerCopyIn(credProxy(), "/", [
      {
        path: CRED_PROXY.routesFile.slice(1),
        content: JSON.stringify(routesFile),
        mode: 0o600,
        uid: 1000,
        gid: 1000,
      },
    ]);
    await engine.containerExec(credProxy(), ["sh", "-c", "kill -HUP 1"], { check: true });
    let status = "";
    for (let attempt = 0; attempt < 50 && status !== "200"; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await exec("curl -sS -m 30 -o /dev/null -w '%{http_code}' http://cred-proxy:9099/v2/echo"))
        .stdout;
    }
    assert.equal(status, "200");
    assert.equal(upstream.seen.at(-1)?.headers["x-api-key"], TOKEN);
    const info = await engine.containerInspect(credProxy());
    assert.equal(info?.id, id);
    assert.equal(info?.running, true);
    const health = await engine.containerExec(credProxy(), [
      "node",
      "-e",
      `fetch("http://127.0.0.1:${CRED_PROXY.healthPort}/healthz").then(r => r.text()).then(console.log)`,
    ]);
    assert.equal((JSON.parse(health.stdout) as { generation: number }).generation, 2);
  });

  it("stop leaves nothing behind", async () => {
    const stopped = await runCliAsync(["stop", instance], { env, cwd: fixture.project });
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.equal((await engine.containerList({ [LABEL_INSTANCE]: instance })).length, 0);
    instance = "";
  });
});
