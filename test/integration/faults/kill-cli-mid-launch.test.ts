/**
 * Fault: the CLI is SIGKILLed (no handler runs, nothing is torn down) at each step of a launch
 * (docs/architecture.md, "Launch sequence"), and once while attached. Then `cleanup` must leave
 * nothing of that bottle: no container, no network, no supervise queue or current-config dir, no
 * state record (G6). Only the audit logs stay, by design.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { BIN, runCliAsync } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

async function labelled(instance: string): Promise<{ containers: string[]; networks: string[] }> {
  const filter = { [LABEL_INSTANCE]: instance };
  const [containers, networks] = await Promise.all([
    engine.containerList(filter),
    engine.networkList(filter),
  ]);
  return { containers: containers.map((c) => c.name).sort(), networks: networks.map((n) => n.name).sort() };
}

/** Host paths of an instance that must not outlive it (logs/<instance>/ stays by design). */
function hostLeftovers(home: string, instance: string): string[] {
  return [
    join(home, "queue", instance),
    join(home, "current-config", instance),
    join(home, "state", `${instance}.json`),
  ].filter((path) => existsSync(path));
}

/** Starts `start` and SIGKILLs it as soon as its stderr matches `at`; resolves to the instance id. */
async function killAt(child: ChildProcess, at: RegExp): Promise<{ instance: string; stderr: string }> {
  let stderr = "";
  const instance = await new Promise<string>((resolve, reject) => {
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      const id = /launching bottle (\S+)/.exec(stderr)?.[1];
      if (id && at.test(stderr)) {
        child.kill("SIGKILL");
        resolve(id);
      }
    });
    child.on("close", () => reject(new Error(`start ended before the kill point ${at}: ${stderr}`)));
  });
  if (child.exitCode === null && child.signalCode === null)
    await new Promise((resolve) => child.once("close", resolve));
  return { instance, stderr };
}

function setUp(): { fixture: TempHome; env: NodeJS.ProcessEnv } {
  const fixture = tempHome();
  // Two sidecars beside the egress proxy, so the parallel sidecar step has something to do.
  fixture.write(
    "bottles/b.md",
    manifest(`
egress:
  allowlist: []
cred_proxy:
  routes:
    - path: /api
      upstream: https://api.example.test
      auth_scheme: Bearer
      token_ref: CB_FAULT_TOKEN
supervise: true
`),
  );
  fixture.write("agents/crash.md", manifest("bottle: b", "Crash test."));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CLAUDE_BOTTLE_HOME: fixture.home,
    CB_FAULT_TOKEN: "cbfault_mid_launch_token",
    NO_COLOR: "1",
  };
  return { fixture, env };
}

async function cleanupLeavesNothing(env: NodeJS.ProcessEnv, fixture: TempHome, instance: string) {
  const cleanup = await runCliAsync(["cleanup"], { env, cwd: fixture.project });
  assert.equal(cleanup.status, 0, cleanup.stderr);
  assert.deepEqual(await labelled(instance), { containers: [], networks: [] }, cleanup.stdout);
  assert.deepEqual(hostLeftovers(fixture.home, instance), []);
  const again = await runCliAsync(["cleanup"], { env, cwd: fixture.project });
  assert.equal(again.status, 0, again.stderr);
  return cleanup.stdout;
}

describe("the CLI SIGKILLed during launch, then cleanup", { skip: docker.skip, timeout: 300_000 }, () => {
  // The agent container starts beside the sidecars, so a detached launch killed after that has a
  // running agent: only its final name (given when the launch completes) makes it a live bottle.
  for (const [step, at] of [
    ["creating networks", /creating networks\n/],
    ["starting egress-proxy", /starting egress-proxy\n/],
    ["starting the other sidecars", /starting (cred-proxy|supervise)/],
    ["provisioning the agent", /sidecars healthy; agent ready\n/],
    ["after the CA is installed", /per-bottle CA installed/],
  ] as const) {
    it(`killed at "${step}" (detached): cleanup leaves no container, network or host dir`, async () => {
      const { fixture, env } = setUp();
      using _fixture = fixture;
      const child = spawn(process.execPath, [BIN, "start", "crash", "--yes", "--detach"], {
        env,
        cwd: fixture.project,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const { instance } = await killAt(child, at);
      try {
        const removed = await cleanupLeavesNothing(env, fixture, instance);
        if (step !== "creating networks") assert.match(removed, new RegExp(`removed ${instance}`));
      } finally {
        if ((await labelled(instance)).containers.length)
          await runCliAsync(["stop", instance], { env, cwd: fixture.project });
      }
    });
  }

  it("killed while attached to Claude Code: cleanup removes the whole running bottle", async () => {
    const { fixture, env } = setUp();
    using _fixture = fixture;
    // stdin stays open (a pipe nobody writes), so Claude Code in the agent waits, as it would for a user.
    const child = spawn(process.execPath, [BIN, "start", "crash", "--yes"], {
      env,
      cwd: fixture.project,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const { instance } = await killAt(child, /attaching Claude Code/);
    child.stdin?.destroy();
    const running = await labelled(instance);
    assert.ok(running.containers.length >= 3, `nothing to clean up: ${JSON.stringify(running)}`);
    const removed = await cleanupLeavesNothing(env, fixture, instance);
    assert.match(
      removed,
      new RegExp(`removed ${instance} \\(4 container\\(s\\), 2 network\\(s\\), 0 image\\(s\\)\\)`),
    );
  });
});
