import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { BIN } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker, testInstance } from "../docker/engine-available.ts";
import {
  bridgeGateway,
  buildUpstreamImage,
  type SshUpstream,
  startUpstream as startGitUpstream,
  UPSTREAM_IMAGE,
  UPSTREAM_REPO,
} from "../git-gate/upstream.ts";
import { supervisedBottle } from "../supervise/mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

describe("claude-bottle logs and why, for a real bottle", { skip: docker.skip, timeout: 900_000 }, () => {
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let stopped = false;
  let web: Server;
  let git: SshUpstream;
  let bottleFile = "";
  const test = testInstance();
  const agent = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const { cli, sh } = agent;
  const ids: Record<string, string> = {};

  before(async () => {
    await buildUpstreamImage(engine);
    git = await startGitUpstream(engine, test.labels);
    web = createServer((_request, response) => response.end("hello\n"));
    await new Promise<void>((resolve) => web.listen(0, "0.0.0.0", resolve));
    fixture = tempHome();
    const key = fixture.write("keys/app_deploy", git.clientKey);
    bottleFile = fixture.write(
      "bottles/logged.md",
      manifest(`
egress:
  allowlist: ["web.test:${(web.address() as AddressInfo).port}"]
  hosts: {web.test: host-gateway}
  ip_allowlist: ["${await bridgeGateway(engine)}/32"]
cred_proxy:
  routes:
    - path: /api
      upstream: https://api.example.test
      auth_scheme: Bearer
      token_ref: CB_LOGS_TOKEN
git:
  - Name: app
    Upstream: "ssh://git@upstream.test:${git.port}${UPSTREAM_REPO}"
    IdentityFile: ${key}
    KnownHostKey: "${git.hostKey}"
    ExtraHosts: {upstream.test: ${git.address}}
supervise: true
`),
    );
    fixture.write("agents/logger.md", manifest("bottle: logged", "Do things."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home, CB_LOGS_TOKEN: "not-a-real-token-0123456789" };
    const started = await cli(["start", "logger", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
  });

  after(async () => {
    if (instance && !stopped) await cli(["stop", instance]);
    web?.close();
    await git?.[Symbol.asyncDispose]();
    if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1")
      await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
    fixture?.[Symbol.dispose]();
  });

  it("gives each refusal a request id, in its header and body", async () => {
    const port = (web.address() as AddressInfo).port;
    assert.equal((await sh(`curl -sS -m 20 http://web.test:${port}/allowed`)).stdout, "hello\n");
    const refused = await sh("curl -sS -m 20 -i http://blocked.test/secret-path");
    assert.match(refused.stdout, /^HTTP\/1\.1 403/);
    ids.egress = /^X-Bottle-Request-Id: ([0-9a-f]{10})\r?$/im.exec(refused.stdout)?.[1] ?? "";
    assert.match(ids.egress, /^[0-9a-f]{10}$/, refused.stdout);
    assert.match(
      refused.stdout,
      new RegExp(
        `request id: ${ids.egress} \\(the operator can see why with \`claude-bottle why ${ids.egress}\`\\)`,
      ),
    );
    const noRoute = await sh("curl -sS -m 20 -i http://cred-proxy:9099/nowhere");
    assert.match(noRoute.stdout, /^HTTP\/1\.1 404/);
    ids.cred = /^X-Bottle-Request-Id: ([0-9a-f]{10})\r?$/im.exec(noRoute.stdout)?.[1] ?? "";
    assert.match(ids.cred, /^[0-9a-f]{10}$/, noRoute.stdout);
  });

  it("logs a push and a decision too", async () => {
    const pushed = await sh(
      "git config --global user.email a@test && git config --global user.name a && cd ~/workspace && git clone -q git://git-gate/app.git app && cd app && echo logged > logged.txt && git add . && git commit -qm logged && git push -q origin HEAD 2>&1",
    );
    assert.equal(pushed.status, 0, pushed.stdout + pushed.stderr);
    const asked = agent.callTool("request_egress", { url: "https://wanted.test/", justification: "log me" });
    const id = await agent.pendingId("wanted.test");
    assert.equal((await cli(["reject", id, "--reason", "not today"])).status, 0);
    assert.match((await asked)?.text ?? "", /^rejected/);
  });

  it("shows everything merged in time order, refusals marked, filterable, as text and JSON", async () => {
    const text = await cli(["logs", instance]);
    assert.equal(text.status, 0, text.stderr);
    const order = [
      /egress\s+ {2}allow\s+[0-9a-f]{10} GET http:\/\/web\.test:\d+\/allowed/,
      new RegExp(
        `egress\\s+✗ block\\s+${ids.egress} GET http://blocked\\.test:80/secret-path\\s+— not-allowlisted · 403`,
      ),
      new RegExp(`cred-proxy\\s+✗ block\\s+${ids.cred} GET /nowhere\\s+— no-route · 404`),
      /git-gate\s+ {2}forwarded\s+push app refs\/heads\//,
      /supervise\s+✗ rejected\s+[0-9a-f]{8}\s+egress proposal [0-9a-f]{8}: \+wanted\.test:443/,
    ];
    let from = 0;
    for (const pattern of order) {
      const match = pattern.exec(text.stdout.slice(from));
      assert.ok(match, `${pattern} after offset ${from} in:\n${text.stdout}`);
      from += match.index + match[0].length;
    }
    const blocked = (await cli(["logs", instance, "--blocked"])).stdout;
    assert.doesNotMatch(blocked, /\/allowed/);
    assert.match(blocked, /blocked\.test/);
    assert.match(blocked, /not today/);
    const json = (await cli(["logs", instance, "--format", "json", "--source", "git-gate"])).stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { source: string; outcome: string });
    assert.ok(json.length >= 1 && json.every((event) => event.source === "git-gate"), JSON.stringify(json));
    assert.equal(json.at(-1)?.outcome, "forwarded");
    const summary = (await cli(["logs", instance, "--summary"])).stdout;
    assert.match(summary, /web\.test\s+\d+ requests\s+0 refused/);
    assert.match(summary, /egress not-allowlisted: 1/);
    assert.match(summary, /cred-proxy no-route: 1/);
    assert.match(summary, /forwarded: 1/);
    assert.match(summary, /rejected: 1/);
  });

  it("why names the rule, the manifest line that would allow it, and the supervise tool", async () => {
    const egress = await cli(["why", ids.egress ?? ""]);
    assert.equal(egress.status, 0, egress.stderr);
    assert.match(egress.stdout, /code: not-allowlisted/);
    assert.match(egress.stdout, /rule: .*blocked\.test/);
    assert.match(
      egress.stdout,
      new RegExp(`to allow it: add \`blocked\\.test:80\` to egress\\.allowlist in ${bottleFile}:\\d+`),
    );
    const line = Number(new RegExp(`${bottleFile}:(\\d+)`).exec(egress.stdout)?.[1]);
    assert.match(fixtureLine(bottleFile, line), /^\s+allowlist:/);
    assert.match(egress.stdout, /supervise tool `request_egress`/);
    const cred = await cli(["why", ids.cred ?? ""]);
    assert.match(cred.stdout, /cred-proxy/);
    assert.match(cred.stdout, /code: no-route/);
    assert.match(cred.stdout, /supervise tool `propose_routes`/);
    const unknown = await cli(["why", "00000000aa"]);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no request 00000000aa in the logs of any bottle/);
  });

  it("follows what the bottle does", async () => {
    const child = spawn(process.execPath, [BIN, "logs", instance, "--follow", "--since", "1s"], {
      env: { ...process.env, ...env },
      cwd: fixture.project,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await sh("curl -sS -m 20 -o /dev/null http://followed.test/");
      for (const deadline = Date.now() + 20_000; !/followed\.test/.test(out); ) {
        assert.ok(Date.now() < deadline, `never followed: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await new Promise((resolve) => child.once("exit", resolve)), 0);
  });

  it("keeps the logs after stop, until cleanup --logs", async () => {
    assert.equal((await cli(["stop", instance])).status, 0);
    stopped = true;
    assert.match((await cli(["logs", instance, "--blocked"])).stdout, /blocked\.test/);
    assert.match((await cli(["why", ids.egress ?? ""])).stdout, /not-allowlisted/);
    const cleaned = await cli(["cleanup", "--logs"]);
    assert.equal(cleaned.status, 0, cleaned.stderr);
    const gone = await cli(["logs", instance]);
    assert.equal(gone.status, 2);
    assert.match(gone.stderr, /no logs for/);
  });
});

function fixtureLine(file: string, line: number): string {
  return readFileSync(file, "utf8").split("\n")[line - 1] ?? "";
}
