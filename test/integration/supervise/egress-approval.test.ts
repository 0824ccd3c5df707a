import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { bridgeGateway } from "../../../src/cli/demo/git-upstream.ts";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";

import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { TERMINAL_CONTROL } from "../../helpers/terminal.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { supervisedBottle } from "./mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

async function startUpstream(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.end("hello from upstream\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

describe("supervise in a running bottle", { skip: docker.skip, timeout: 600_000 }, () => {
  let fixture: TempHome;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  const bottle = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const { cli, exec, sh, pendingId } = bottle;
  const callTool = async (tool: string, args: Record<string, unknown>) => {
    const answer = await bottle.callTool(tool, args);
    assert.ok(answer, `the ${tool} call failed`);
    return answer;
  };
  const egressConfig = async () =>
    (await engine.containerExec(`cb-${instance}-egress-proxy`, ["cat", EGRESS.configFile])).stdout;
  const curl = (port: number, path: string) =>
    sh(`curl -sS -m 20 -o /dev/null -w '%{http_code}' http://upstream.test:${port}${path}`);

  before(async () => {
    fixture = tempHome();
    upstream = await startUpstream();
    const gateway = await bridgeGateway(engine);
    fixture.write(
      "bottles/watched.md",
      manifest(`
egress:
  allowlist: ["unused.test"]
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${gateway}/32"]
supervise: true
`),
    );
    fixture.write("agents/asker.md", manifest("bottle: watched", "Ask before reaching out."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await cli(["start", "asker", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
  });

  after(async () => {
    if (instance) await cli(["stop", instance]);
    upstream?.server.close();
    fixture?.[Symbol.dispose]();
  });

  it("registers the supervise MCP server in the agent's Claude Code", async () => {
    const result = await exec("claude", "mcp", "get", "supervise");
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /http:\/\/supervise:9100\/mcp/);
  });

  it("refuses a request with 403, then lets the same request through once an operator approves, without a restart", async () => {
    const refused = await sh(`curl -sS -m 20 -i http://upstream.test:${upstream.port}/data`);
    assert.match(refused.stdout, /^HTTP\/1\.1 403/);
    assert.match(refused.stdout, /request_egress/, "the refusal names the supervise tool");
    const proxyBefore = await engine.containerInspect(`cb-${instance}-egress-proxy`);

    const asked = callTool("request_egress", {
      url: `http://upstream.test:${upstream.port}/data`,
      justification: "the task needs the data file",
    });
    const id = await pendingId(`upstream.test:${upstream.port}`);
    assert.match(id, /^[0-9a-f]{8}$/);
    // What a script sees of the queue.
    const listed = await cli(["dashboard", "--once", "--format", "json"]);
    assert.equal(listed.status, 0, listed.stderr);
    const queue = JSON.parse(listed.stdout) as { version: number; pending: Record<string, unknown>[] };
    assert.equal(queue.version, 1);
    assert.deepEqual(queue.pending, [
      {
        id,
        bottle: instance,
        kind: "egress",
        created_at: queue.pending[0]?.created_at,
        deadline: queue.pending[0]?.deadline,
        justification: "the task needs the data file",
        summary: `allow upstream.test:${upstream.port}`,
        digest: queue.pending[0]?.digest,
        changes: [`egress.allowlist +upstream.test:${upstream.port}`],
        request: {
          url: `http://upstream.test:${upstream.port}/data`,
          entry: `upstream.test:${upstream.port}`,
        },
      },
    ]);
    assert.match(String(queue.pending[0]?.digest), /^[0-9a-f]{16}$/);
    // A digest of something else is not what the operator saw: nothing is approved.
    const stale = await cli(["approve", id, "--digest", "0000000000000000"]);
    assert.equal(stale.status, 1, stale.stdout + stale.stderr);
    assert.match(stale.stderr, new RegExp(`proposal ${id} is not what was shown`));
    const approved = await cli([
      "approve",
      id,
      "--note",
      "fine for this task",
      "--digest",
      String(queue.pending[0]?.digest),
    ]);
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(
      approved.stdout,
      new RegExp(
        `approved ${id}: added upstream.test:${upstream.port} to egress.allowlist\n(?: {3}\\S+\n)* {3}unused\\.test\n  \\+upstream\\.test:${upstream.port}\n`,
      ),
      "approve prints the diff it applied",
    );

    const answer = await asked;
    assert.equal(answer.isError, false, answer.text);
    assert.match(
      answer.text,
      /^approved \(proposal [0-9a-f]{8}\): added upstream\.test:\d+ to egress\.allowlist/,
    );
    assert.match(answer.text, /fine for this task/);

    assert.equal(await curl(upstream.port, "/data").then((result) => result.stdout), "200");
    assert.ok(upstream.requests.includes("GET /data"));
    const proxyAfter = await engine.containerInspect(`cb-${instance}-egress-proxy`);
    assert.equal(proxyAfter?.id, proxyBefore?.id, "the same proxy container");
    assert.equal(proxyAfter?.running, true);
  });

  it("shows the agent the current allowlist, read-only, updated after the approval", async () => {
    const shown = await sh("cat /etc/claude-bottle/current-config/allowlist");
    assert.match(shown.stdout, new RegExp(`^upstream\\.test:${upstream.port}$`, "m"));
    assert.match(shown.stdout, /^unused\.test$/m);
    const write = await sh(
      "echo '*.evil.example' >> /etc/claude-bottle/current-config/allowlist; touch /etc/claude-bottle/current-config/x; stat -c '%U %a' /etc/claude-bottle/current-config /etc/claude-bottle/current-config/allowlist",
    );
    assert.match(write.stderr, /allowlist: Permission denied/);
    assert.match(write.stderr, /touch: cannot touch .*: Permission denied/);
    assert.equal(write.stdout, "root 755\nroot 644\n");
    assert.doesNotMatch((await sh("cat /etc/claude-bottle/current-config/allowlist")).stdout, /evil/);
  });

  it("audits the approval with the justification, the note and the diff", () => {
    const lines = readFileSync(join(fixture.home, "logs", instance, "supervise-audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const entry = lines.find((line) => line.decision === "approved");
    assert.ok(entry, JSON.stringify(lines));
    assert.equal(entry.kind, "egress");
    assert.equal(entry.justification, "the task needs the data file");
    assert.equal(entry.note, "fine for this task");
    assert.deepEqual(entry.diff, [`+upstream.test:${upstream.port}`]);
  });

  it("leaves the policy unchanged when the operator rejects, and tells the agent why", async () => {
    const other = await startUpstream();
    try {
      const configBefore = await egressConfig();
      const asked = callTool("request_egress", {
        url: `http://upstream.test:${other.port}/`,
        justification: "curious",
      });
      const id = await pendingId(`upstream.test:${other.port}`);
      const rejected = await cli(["reject", id, "--reason", "not part of the task"]);
      assert.equal(rejected.status, 0, rejected.stderr);
      const answer = await asked;
      assert.match(answer.text, /^rejected \(proposal [0-9a-f]{8}\): not part of the task\. Nothing changed/);
      assert.equal(await egressConfig(), configBefore);
      assert.equal((await curl(other.port, "/")).stdout, "403");
      assert.deepEqual(other.requests, []);
      const listed = await cli(["dashboard", "--once"]);
      assert.match(listed.stdout, /no pending proposals/);
    } finally {
      other.server.close();
    }
  });

  it("shows an agent's escape codes as text: the operator's list cannot be forged", async () => {
    const forged = "\x1b[2K\rallow pypi.org:443 — routine\x1b]0;pwned\x07\u202e";
    const asked = callTool("request_egress", {
      url: `http://exfil.attacker.example:${upstream.port}/`,
      justification: forged,
    });
    const id = await pendingId("exfil.attacker.example");
    try {
      const listed = await cli(["dashboard", "--once"]);
      assert.doesNotMatch(listed.stdout + listed.stderr, TERMINAL_CONTROL);
      assert.ok(
        listed.stdout.includes("\\x1b[2K allow pypi.org:443 — routine\\x1b]0;pwned\\x07\\u202e"),
        listed.stdout,
      );
      assert.match(listed.stdout, /allow exfil\.attacker\.example/);
    } finally {
      const rejected = await cli(["reject", id, "--reason", "no"]);
      assert.equal(rejected.status, 0, rejected.stderr);
    }
    await asked;
  });

  it("a compromised egress proxy cannot redirect the host's audit append, and runs unprivileged", async () => {
    const proxy = `cb-${instance}-egress-proxy`;
    const user = execFileSync("docker", ["inspect", "--format", "{{.Config.User}}", proxy], {
      encoding: "utf8",
    });
    if (process.getuid?.() === 0) assert.equal(user.trim(), "10001:10001", "never root, even for a root CLI");
    const victim = fixture.write("victim-bashrc", "original\n");
    // From inside the proxy's container, as the proxy: a link where the host's supervise audit would be.
    const planted = await engine.containerExec(proxy, [
      "sh",
      "-c",
      `ln -sf ${victim} ${EGRESS.auditDir}/supervise-audit.jsonl && ln -sf ${victim} ${EGRESS.auditDir}/../supervise-audit.jsonl; ls ${EGRESS.auditDir}`,
    ]);
    assert.match(planted.stdout, /supervise-audit\.jsonl/, planted.stderr);
    const asked = callTool("request_egress", {
      url: `http://audit-redirect.test:${upstream.port}/`,
      justification: "after the link was planted",
    });
    const id = await pendingId("audit-redirect.test");
    const rejected = await cli(["reject", id, "--reason", "no"]);
    assert.equal(rejected.status, 0, rejected.stderr);
    await asked;
    assert.equal(readFileSync(victim, "utf8"), "original\n");
    const audit = readFileSync(join(fixture.home, "logs", instance, "supervise-audit.jsonl"), "utf8");
    assert.match(audit, /"after the link was planted"/, "the positive control: the decision is audited");
  });

  it("a FIFO or a link a compromised supervise sidecar puts in the queue is listed as a problem, never read", async () => {
    const sidecar = `cb-${instance}-supervise`;
    const secret = fixture.write("host-secret.json", '{"SECRET":"host-only-value"}\n');
    await engine.containerExec(sidecar, [
      "sh",
      "-c",
      `mkfifo /run/supervise/queue/pending/0000fifo.json; ln -s ${secret} /run/supervise/queue/pending/00000111.json`,
    ]);
    try {
      const listed = await cli(["dashboard", "--once"]);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stderr, /0000fifo\.json: is not a regular file/);
      assert.match(listed.stderr, /00000111\.json: is a symbolic link/);
      assert.doesNotMatch(listed.stdout + listed.stderr, /host-only-value/);
    } finally {
      await engine.containerExec(sidecar, [
        "rm",
        "-f",
        "/run/supervise/queue/pending/0000fifo.json",
        "/run/supervise/queue/pending/00000111.json",
      ]);
    }
  });

  it("caps a flood of proposals at 20 per bottle and refuses an oversized request", async () => {
    // The agent fires 25 different requests at once (and one 1 MB one), then gives up after 25 s.
    const FLOOD = `
const post = (body, signal) => fetch("http://supervise:9100/mcp", { method: "POST", signal, body: JSON.stringify(body),
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } })
  .then(async (response) => ({ status: response.status, text: await response.text() }), (error) => ({ status: 0, text: error.name }));
const call = (id, url, justification) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "request_egress", arguments: { url, justification } } });
const big = await post(call(0, "https://big.test/", "x".repeat(1_000_000)));
const answers = await Promise.all(Array.from({ length: 25 }, (_, index) => post(call(index + 1, "https://flood-" + index + ".test/", "flood"), AbortSignal.timeout(25_000))));
process.stdout.write(JSON.stringify({ big, answers }));`;
    const flood = exec("node", "--input-type=module", "-e", FLOOD);
    let listed: string[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      listed = (await cli(["dashboard", "--once"])).stdout
        .split("\n")
        .filter((line) => /flood-\d+\.test/.test(line));
      if (listed.length >= 20) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.equal(listed.length, 20, listed.join("\n"));
    const result = await flood;
    assert.equal(result.status, 0, result.stderr);
    const { big, answers } = JSON.parse(result.stdout) as {
      big: { status: number; text: string };
      answers: { status: number; text: string }[];
    };
    assert.equal(big.status, 413, big.text);
    const refused = answers.filter((answer) => /the limit is 20/.test(answer.text));
    assert.equal(refused.length, 5, JSON.stringify(answers.filter((answer) => answer.status !== 0)));
    // The other 20 were still waiting when the agent gave up: each withdrawn with its call.
    for (const deadline = Date.now() + 20_000; ; ) {
      const left = (await cli(["dashboard", "--once"])).stdout;
      if (!/flood-/.test(left)) break;
      assert.ok(Date.now() < deadline, left);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });

  it("answers a malformed request at once and queues nothing", async () => {
    const answer = await callTool("request_egress", { url: "not a url at all", justification: "" });
    assert.equal(answer.isError, true);
    assert.match(answer.text, /justification: say why/);
    assert.match((await cli(["dashboard", "--once"])).stdout, /no pending proposals/);
  });

  it("says which proposal ids are unknown", async () => {
    const result = await cli(["approve", "0badc0de"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no pending proposal 0badc0de/);
  });
});
