import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ContainerInfo, DockerEngine } from "../../../../src/backend/docker/engine/engine.ts";
import { describeLoss, instanceStates, watchInstance } from "../../../../src/backend/docker/watch.ts";

const container = (role: string, patch: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id: role,
  name: `cb-i-00000000-${role}`,
  image: "img",
  status: "running",
  running: true,
  exitCode: 0,
  health: "healthy",
  labels: { "claude-bottle.instance": "i-00000000", "claude-bottle.role": role },
  networks: {},
  ...patch,
});

/** An engine whose containers the test changes between polls; it fails when told to. */
function fakeEngine(initial: ContainerInfo[]) {
  const state = { containers: initial, fail: false };
  const engine: Pick<DockerEngine, "containerList"> = {
    containerList: async () => {
      if (state.fail) throw new Error("engine went away");
      return state.containers;
    },
  };
  return { engine, state };
}

const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe("watching a bottle's sidecars", () => {
  it("reports a sidecar that exits, once, with its exit code and what the agent lost", async () => {
    const { engine, state } = fakeEngine([
      container("agent"),
      container("egress-proxy"),
      container("git-gate"),
    ]);
    const lines: string[] = [];
    {
      await using _watch = watchInstance(engine, "i-00000000", {
        report: (line) => lines.push(line),
        intervalMs: 5,
      });
      await tick();
      assert.deepEqual(lines, []);
      state.containers = [
        container("agent"),
        container("egress-proxy", { status: "exited", running: false, exitCode: 137 }),
        container("git-gate"),
      ];
      await tick();
    }
    assert.deepEqual(lines, [
      "egress-proxy exited (code 137): the bottle has no egress now (requests fail; there is no route around the proxy); stop the bottle with `claude-bottle stop i-00000000`",
    ]);
  });

  it("reports a removed or unhealthy sidecar, not the agent, and survives engine errors", async () => {
    const { engine, state } = fakeEngine([
      container("agent"),
      container("cred-proxy"),
      container("supervise"),
    ]);
    const lines: string[] = [];
    {
      await using _watch = watchInstance(engine, "i-00000000", {
        report: (line) => lines.push(line),
        intervalMs: 5,
      });
      await tick();
      state.fail = true;
      await tick();
      state.fail = false;
      state.containers = [container("supervise", { health: "unhealthy" })];
      await tick();
    }
    assert.equal(lines.length, 2, lines.join("\n"));
    lines.sort();
    assert.match(lines[0] ?? "", /^cred-proxy was removed: requests through cred-proxy fail now/);
    assert.match(
      lines[1] ?? "",
      /^supervise is unhealthy: the agent cannot ask the operator for more access now/,
    );
  });

  it("reports nothing after it is disposed", async () => {
    const { engine, state } = fakeEngine([container("egress-proxy")]);
    const lines: string[] = [];
    const watch = watchInstance(engine, "i-00000000", { report: (line) => lines.push(line), intervalMs: 5 });
    await tick();
    await watch[Symbol.asyncDispose]();
    state.containers = [];
    await tick();
    assert.deepEqual(lines, []);
  });

  it("lists states agent first, then egress-proxy, then the rest by role", async () => {
    const { engine } = fakeEngine([container("supervise"), container("egress-proxy"), container("agent")]);
    const states = await instanceStates(engine, "i-00000000");
    assert.deepEqual(
      states.map((state) => state.role),
      ["agent", "egress-proxy", "supervise"],
    );
    assert.match(
      describeLoss({ ...states[2]!, status: "exited", exitCode: 1, up: false }, "x"),
      /supervise exited \(code 1\)/,
    );
  });
});
