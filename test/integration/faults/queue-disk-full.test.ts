/**
 * Fault: the disk that holds supervise's queue dir (~/.claude-bottle/queue/<instance>/) is full
 * when the agent asks for more access. The agent's tool call must get a clear error at once (not
 * hang waiting for an operator who will never see the proposal), and the queue must hold nothing
 * half-written that the dashboard would show or choke on. A 1 MiB tmpfs stands for the disk.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AGENT_USER } from "../../../src/backend/docker/agent-env.ts";
import { sidecarWriter } from "../../../src/backend/docker/prepare.ts";
import { launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const root = process.getuid?.() === 0 ? false : "mounting a tmpfs needs root";

/** A minimal MCP client (streamable HTTP) run by the agent's Node: one tools/call, result as JSON. */
const MCP_CLIENT = `
const [tool, args] = [process.argv[1], JSON.parse(process.argv[2])];
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const post = async (body) => {
  const response = await fetch("http://supervise:9100/mcp", { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(20000) });
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
};
await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "probe", version: "1" } } });
await post({ jsonrpc: "2.0", method: "notifications/initialized" });
const answer = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: args } });
process.stdout.write(JSON.stringify(answer.result ?? answer.error));
`;

/** Every file under a dir, relative, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe("supervise's queue dir on a full disk", { skip: docker.skip || root, timeout: 300_000 }, () => {
  let bottle: TestBottle;
  let mounted = "";
  let queue = "";

  before(async () => {
    bottle = await launchBottle({ bottle: "egress:\n  allowlist: []\nsupervise: true" });
    // The queue root becomes a 1 MiB tmpfs holding the instance's queue dir, which the running
    // supervise sidecar has bind-mounted: remount it there, under the sidecar, by restarting it.
    queue = join(bottle.fixture.home, "queue", bottle.instance);
    mounted = join(bottle.fixture.home, "queue");
    rmSync(queue, { recursive: true, force: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mounted]);
    for (const sub of ["pending", "deciding", "responses"])
      mkdirSync(join(queue, sub), { recursive: true, mode: 0o700 });
    // Owned as the CLI hands it to the sidecar (a fixed unprivileged uid when the CLI is root).
    const writer = sidecarWriter({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    execFileSync("chown", ["-R", `${writer.uid}:${writer.gid}`, mounted]);
    await engine.containerKill(bottle.container("supervise"), "KILL").catch(() => {});
    execFileSync("docker", ["start", bottle.container("supervise")]);
    const deadline = Date.now() + 30_000;
    while ((await engine.containerInspect(bottle.container("supervise")))?.health !== "healthy") {
      if (Date.now() > deadline) throw new Error("supervise did not come back healthy");
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Fill the disk.
    try {
      writeFileSync(join(mounted, "filler"), Buffer.alloc(2 * 1024 * 1024));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
    }
  });

  after(async () => {
    if (mounted) execFileSync("umount", ["--lazy", mounted]);
    await bottle?.stop();
  });

  it("answers the agent's request_egress at once with a clear error and queues nothing", async () => {
    const started = Date.now();
    const result = await engine.containerExec(
      bottle.container("agent"),
      [
        "node",
        "--input-type=module",
        "-e",
        MCP_CLIENT,
        "request_egress",
        JSON.stringify({ url: "https://api.example.test/data", justification: "the task needs the data" }),
      ],
      { user: AGENT_USER },
    );
    assert.equal(result.exitCode, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { content: { text: string }[]; isError?: boolean };
    const text = answer.content.map((part) => part.text).join("\n");
    assert.equal(answer.isError, true, text);
    assert.match(
      text,
      /^proposal not queued: the operator.s queue on the host cannot be written \(ENOSPC: no space left on device\)\. Nothing changed/,
    );
    assert.ok(Date.now() - started < 15_000, "the call waited instead of failing");
    assert.deepEqual(filesUnder(queue), [], "something half-written was left in the queue");
  });

  it("leaves the dashboard with nothing pending and no problem file", async () => {
    const listed = await runCliAsync(["dashboard", "--once"], {
      env: { CLAUDE_BOTTLE_HOME: bottle.fixture.home },
      cwd: bottle.fixture.project,
    });
    assert.equal(listed.status, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, /api\.example\.test/);
    assert.doesNotMatch(listed.stdout + listed.stderr, /\.tmp|invalid|problem/i);
  });
});
