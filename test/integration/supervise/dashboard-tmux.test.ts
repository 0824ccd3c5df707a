import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";

import { BIN, runCliAsync } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { supervisedBottle } from "./mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

function tmuxSkip(): string | false {
  if (spawnSync("tmux", ["-V"]).status === 0) return false;
  if (process.env.CLAUDE_BOTTLE_REQUIRE_DOCKER === "1")
    throw new Error("CLAUDE_BOTTLE_REQUIRE_DOCKER=1 but tmux is not installed (.ci/run installs it)");
  return "tmux is not installed (apt-get install tmux; CLAUDE_BOTTLE_REQUIRE_DOCKER=1 makes this fail)";
}
const skip = docker.skip || tmuxSkip();

async function startUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => response.end("hello\n"));
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** The dashboard in a real terminal: a private tmux server (its own socket), one window. */
class Terminal {
  readonly socket = `cb-test-${randomBytes(4).toString("hex")}`;
  tmux(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }
  start(command: string[], env: Record<string, string>): void {
    const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(" ");
    const assignments = Object.entries(env).map(
      ([name, value]) => `${name}='${value.replaceAll("'", "'\\''")}'`,
    );
    this.tmux(
      "new-session",
      "-d",
      "-s",
      "dash",
      "-x",
      "200",
      "-y",
      "50",
      `env ${assignments.join(" ")} ${quoted}; sleep 600`,
    );
  }
  keys(...keys: string[]): void {
    this.tmux("send-keys", "-t", "dash", ...keys);
  }
  screen(): string {
    return this.tmux("capture-pane", "-p", "-t", "dash");
  }
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${pattern}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  close(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

describe("the interactive dashboard in a real terminal", { skip, timeout: 600_000 }, () => {
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let terminal: Terminal;
  const upstreams: Awaited<ReturnType<typeof startUpstream>>[] = [];
  const cli = (args: string[]) => runCliAsync(args, { env, cwd: fixture.project });
  const sh = (command: string) => cli(["exec", instance, "--", "sh", "-c", command]);
  const agent = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const callTool = async (tool: string, args: Record<string, unknown>) => {
    const answer = await agent.callTool(tool, args);
    assert.ok(answer, `${tool}: the call ended without an answer`);
    return answer;
  };
  const curl = (port: number) =>
    sh(`curl -sS -m 20 -o /dev/null -w '%{http_code}' http://upstream.test:${port}/`);
  const egressConfig = async () =>
    (await engine.containerExec(`cb-${instance}-egress-proxy`, ["cat", EGRESS.configFile])).stdout;

  before(async () => {
    fixture = tempHome();
    upstreams.push(await startUpstream(), await startUpstream());
    const subnet = (await engine.networkInspect("bridge"))?.subnets[0] ?? "172.17.0.0/16";
    fixture.write(
      "bottles/watched.md",
      manifest(`
egress:
  allowlist: ["unused.test"]
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${subnet.replace(/\.0\/\d+$/, ".1")}/32"]
supervise: true
`),
    );
    fixture.write("agents/asker.md", manifest("bottle: watched", "Ask first."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await cli(["start", "asker", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
    // The operator's $EDITOR: narrows a proposed egress entry to another one; appends an entry
    // to an allowlist.
    const editor = join(fixture.home, "editor.sh");
    writeFileSync(
      editor,
      '#!/bin/sh\ncase "$1" in\n  *-egress.txt) echo "modified.example.com:443" > "$1" ;;\n  *) echo "edited.example.com" >> "$1" ;;\nesac\n',
      { mode: 0o755 },
    );
    terminal = new Terminal();
    terminal.start([process.execPath, BIN, "dashboard"], {
      CLAUDE_BOTTLE_HOME: fixture.home,
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      EDITOR: editor,
      TERM: "xterm-256color",
    });
  });

  after(async () => {
    terminal?.close();
    if (instance) await cli(["stop", instance]);
    for (const upstream of upstreams) upstream.server.close();
    fixture?.[Symbol.dispose]();
  });

  it("lists a proposal as it arrives, shows its diff, and approving it applies it live", async () => {
    const port = upstreams[0]?.port ?? 0;
    await terminal.waitFor(new RegExp(`bottles: ${instance}`));
    assert.equal((await curl(port)).stdout, "403");
    const asked = callTool("request_egress", {
      url: `http://upstream.test:${port}/`,
      justification: "need the file",
    });
    const listed = await terminal.waitFor(new RegExp(`allow upstream\\.test:${port} — need the file`));
    assert.match(listed, /^> [0-9a-f]{8}\s+/m, "the proposal is selected");
    assert.match(listed, /1 pending/);

    terminal.keys("Enter");
    const shown = await terminal.waitFor(/change:/);
    assert.match(shown, /justification:\n\s+need the file/);
    assert.match(shown, new RegExp(`^\\s+\\+upstream\\.test:${port}$`, "m"), "the diff adds the entry");
    assert.match(shown, /^\s+ unused\.test$/m, "with the current entries around it");
    assert.ok(shown.indexOf("change:") < shown.indexOf("justification:"), "the diff comes first");

    terminal.keys("y");
    await terminal.waitFor(
      new RegExp(
        `approve [0-9a-f]{8} \\(egress, bottle ${instance}\\): egress\\.allowlist \\+upstream\\.test:${port}\\? y/enter: approve`,
      ),
    );
    assert.equal((await curl(port)).stdout, "403", "nothing applied before the confirmation");
    terminal.keys("y");
    await terminal.waitFor(
      new RegExp(`approved [0-9a-f]{8}: added upstream\\.test:${port} to egress\\.allowlist`),
    );
    await terminal.waitFor(/no pending proposals/);
    const answer = await asked;
    assert.match(answer.text, /^approved \(proposal [0-9a-f]{8}\)/);
    assert.equal((await curl(port)).stdout, "200");
    // The traffic pane: the refused request, then the allowed one, live.
    const traffic = await terminal.waitFor(
      new RegExp(`allow\\s+[0-9a-f]{10} GET http://upstream\\.test:${port}/`),
    );
    assert.match(traffic, new RegExp(`traffic of ${instance} \\(latest;`));
    assert.match(traffic, new RegExp(`✗ block\\s+[0-9a-f]{10} GET http://upstream\\.test:${port}/`));
  });

  it("rejects with a reason typed in the terminal, and nothing changes", async () => {
    const port = upstreams[1]?.port ?? 0;
    const configBefore = await egressConfig();
    const asked = callTool("request_egress", {
      url: `http://upstream.test:${port}/`,
      justification: "curious",
    });
    await terminal.waitFor(new RegExp(`allow upstream\\.test:${port}`));
    terminal.keys("n");
    await terminal.waitFor(/reason \(enter: reject, esc: cancel\):/);
    terminal.keys("-l", "not for this task");
    terminal.keys("Enter");
    await terminal.waitFor(/rejected [0-9a-f]{8}/);
    const answer = await asked;
    assert.match(answer.text, /^rejected \(proposal [0-9a-f]{8}\): not for this task\. Nothing changed/);
    assert.equal(await egressConfig(), configBefore);
    assert.equal((await curl(port)).stdout, "403");
  });

  it("approves with the operator's change made in $EDITOR", async () => {
    const asked = callTool("request_egress", { url: "https://wide.example.com/", justification: "docs" });
    await terminal.waitFor(/allow wide\.example\.com:443/);
    terminal.keys("m");
    await terminal.waitFor(
      /approved [0-9a-f]{8} with changes: added modified\.example\.com:443 to egress\.allowlist/,
    );
    const answer = await asked;
    assert.match(answer.text, /^approved with changes by the operator \(proposal [0-9a-f]{8}\)/);
    const config = await egressConfig();
    assert.match(config, /- modified\.example\.com:443/);
    assert.doesNotMatch(config, /wide\.example\.com/);
  });

  it("lets the operator edit the allowlist of the running bottle in $EDITOR, audited", async () => {
    terminal.keys("A");
    await terminal.waitFor(/egress\.allowlist: added edited\.example\.com/);
    assert.match(await egressConfig(), /- edited\.example\.com/);
    assert.match(
      (await sh("cat /etc/claude-bottle/current-config/allowlist")).stdout,
      /^edited\.example\.com$/m,
    );
    const entries = readFileSync(join(fixture.home, "logs", instance, "supervise-audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { decision: string; diff: string[]; note?: string });
    assert.deepEqual(
      entries.map((entry) => entry.decision),
      ["approved", "rejected", "modified", "operator-edit"],
    );
    assert.deepEqual(entries[3]?.diff, ["+edited.example.com"]);
    assert.equal(entries[1]?.note, "not for this task");
  });

  it("pages through a long proposal; a withdrawn one leaves nothing for y to approve", async () => {
    // The agent asks with a long justification and gives up after 20 s (its call is cancelled).
    const reasons = Array.from({ length: 80 }, (_, index) => `reason line ${index}`).join("\n");
    const GIVE_UP = `
const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "request_egress", arguments: { url: "https://withdrawn.example/", justification: process.argv[1] } } };
await fetch("http://supervise:9100/mcp", { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(20_000),
  headers: { "content-type": "application/json", accept: "application/json, text/event-stream" } }).catch(() => {});`;
    const givingUp = cli(["exec", instance, "--", "node", "--input-type=module", "-e", GIVE_UP, reasons]);
    await terminal.waitFor(/allow withdrawn\.example:443/);
    const other = callTool("request_egress", { url: "https://other.example/", justification: "second" });
    await terminal.waitFor(/allow other\.example:443/);

    terminal.keys("Enter");
    const top = await terminal.waitFor(/— lines 1–\d+ of \d+ · ↓\/space for more/);
    const id = /^proposal ([0-9a-f]{8}) /m.exec(top)?.[1];
    assert.ok(id, top);
    assert.match(top, /\+withdrawn\.example:443/, "the diff is on the first page");
    assert.doesNotMatch(top, /reason line 79/);
    terminal.keys("j", "j", "Space", "Space", "Space", "Space", "Space", "Space", "Space", "Space");
    const bottom = await terminal.waitFor(/reason line 79/);
    assert.match(bottom, new RegExp(`^proposal ${id} `, "m"), "the title stays: still the same proposal");
    assert.doesNotMatch(bottom, /allow other\.example/, "↓ scrolled; it did not move to the next proposal");

    await givingUp;
    await terminal.waitFor(new RegExp(`proposal ${id} is no longer pending`));
    terminal.keys("y");
    await terminal.waitFor(/no proposal selected: choose one with ↑↓/);
    const listed = (await cli(["dashboard", "--once"])).stdout;
    assert.match(listed, /allow other\.example:443/, "the other proposal was not approved");

    // Chosen explicitly, asked, and cancelled: still nothing approved.
    terminal.keys("Down", "y");
    await terminal.waitFor(
      /approve [0-9a-f]{8} \(egress, bottle [^)]+\): egress\.allowlist \+other\.example:443\?/,
    );
    terminal.keys("Escape");
    await terminal.waitFor(/approval of [0-9a-f]{8} cancelled/);
    terminal.keys("n");
    await terminal.waitFor(/reason \(enter: reject, esc: cancel\):/);
    terminal.keys("-l", "not now");
    terminal.keys("Enter");
    assert.match((await other).text, /^rejected \(proposal [0-9a-f]{8}\): not now/);
  });

  it("q aborts a capability build in progress, keeps the proposal pending, and gives the terminal back", async () => {
    const current = (await sh("cat /etc/claude-bottle/current-config/Dockerfile")).stdout;
    const asked = agent.callTool(
      "propose_capability",
      { dockerfile: `${current}USER root\nRUN sleep 300\n`, justification: "slow build" },
      { timeoutMs: 120_000 },
    );
    await terminal.waitFor(/new Dockerfile \(1 RUN line\) — slow build/);
    terminal.keys("y");
    await terminal.waitFor(/Dockerfile \+RUN sleep 300\? y\/enter: approve/);
    terminal.keys("y");
    await terminal.waitFor(/approve [0-9a-f]{8} … \(Ctrl-C or q aborts\)/);
    const build = `cb-${instance}-agent-build`;
    for (const deadline = Date.now() + 30_000; !(await engine.containerInspect(build))?.running; ) {
      assert.ok(Date.now() < deadline, "the build container never ran");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    terminal.keys("q");
    const deadline = Date.now() + 60_000;
    while (!/sleep/.test(terminal.tmux("list-panes", "-t", "dash", "-F", "#{pane_current_command}"))) {
      assert.ok(Date.now() < deadline, `the dashboard did not exit:\n${terminal.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(await engine.containerInspect(build), undefined, "the build container is gone");
    assert.equal(
      await engine.imageInspect(`claude-bottle/agent:${instance}`),
      undefined,
      "nothing was built",
    );
    const id = await agent.pendingId("slow build");
    assert.equal((await cli(["reject", id, "--reason", "too slow"])).status, 0);
    assert.match((await asked)?.text ?? "", /^rejected/);
  });
});
