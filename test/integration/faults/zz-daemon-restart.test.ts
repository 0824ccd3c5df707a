/**
 * Fault: the Docker daemon restarts under a running bottle. What a user relies on afterwards:
 * the bottle's containers are either running with the same isolation, or gone (stopped) and
 * `cleanup` removes every leftover; never a container with a route out.
 *
 * This restarts the machine's dockerd (a plain background process here; scripts/docker-up.sh
 * starts it again), which disturbs every other Docker user: the file is named to run last, and it
 * skips when containers it did not start are running (another test run), unless
 * CLAUDE_BOTTLE_FAULT_RESTART_DOCKER=1. It needs root, and leaves dockerd running.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { AGENT_USER } from "../../../src/backend/docker/agent-env.ts";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const DOCKER_UP = fileURLToPath(new URL("../../../scripts/docker-up.sh", import.meta.url));

function dockerdPid(): number | undefined {
  const found = spawnSync("pgrep", ["-x", "dockerd"], { encoding: "utf8" });
  const pid = Number(found.stdout.trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function runningContainers(): string[] {
  return execFileSync("docker", ["ps", "--quiet", "--no-trunc"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
}

function whySkip(): string | false {
  if (docker.skip) return docker.skip;
  if (process.getuid?.() !== 0) return "restarting dockerd needs root";
  if (dockerdPid() === undefined) return "dockerd is not a process here (Docker Desktop or a remote engine)";
  if (process.env.CLAUDE_BOTTLE_FAULT_RESTART_DOCKER !== "1" && runningContainers().length > 0)
    return "other containers are running; restarting dockerd would break them (CLAUDE_BOTTLE_FAULT_RESTART_DOCKER=1 forces)";
  return false;
}

async function until(what: string, ms: number, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const skip = whySkip();

describe("the Docker daemon restarted under a running bottle", { skip, timeout: 240_000 }, () => {
  let bottle: TestBottle;
  const env = () => ({ CLAUDE_BOTTLE_HOME: bottle.fixture.home });

  before(async () => {
    bottle = await launchBottle({ bottle: 'egress:\n  allowlist: ["allowed.example.test"]' });
    const pid = dockerdPid();
    assert.ok(pid);
    process.kill(pid, "SIGTERM");
    await until("dockerd did not exit", 60_000, () => dockerdPid() === undefined);
    // Its own session, so the new dockerd outlives this test process and its group.
    const up = spawnSync("setsid", ["bash", DOCKER_UP], { stdio: "ignore", timeout: 90_000 });
    assert.equal(up.status, 0, "scripts/docker-up.sh failed; see /var/log/dockerd.log");
    await until("docker info did not answer", 60_000, async () =>
      engine.info().then(
        () => true,
        () => false,
      ),
    );
  });

  after(async () => {
    // Whatever happened, leave an engine that answers.
    if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) {
      spawnSync("setsid", ["bash", DOCKER_UP], { stdio: "ignore", timeout: 90_000 });
    }
    await bottle?.stop();
  });

  it("leaves no container of the bottle with a route out", async () => {
    const containers = await engine.containerList({ [LABEL_INSTANCE]: bottle.instance });
    const agent = containers.find((container) => container.labels["claude-bottle.role"] === "agent");
    assert.ok(agent, "the agent container vanished without cleanup");
    if (agent.running) {
      // Restored (live-restore): still on the internal network only, egress still filtered.
      assert.deepEqual(Object.keys(agent.networks), [`cb-${bottle.instance}-internal-network`]);
      assert.equal((await engine.networkInspect(`cb-${bottle.instance}-internal-network`))?.internal, true);
      const refused = await engine.containerExec(
        agent.name,
        ["sh", "-c", "curl -s -m 10 -o /dev/null -w '%{http_code}' http://not-allowed.example.test/"],
        { user: AGENT_USER },
      );
      assert.match(refused.stdout, /^(403|000)$/);
    } else {
      // No restart policy and no live-restore: everything stopped, nothing runs with a route out.
      assert.deepEqual(
        containers.filter((container) => container.running).map((container) => container.name),
        [],
      );
    }
  });

  it("is reported dead when it stopped, and cleanup then removes every leftover", async () => {
    const agentRunning = (await engine.containerInspect(bottle.container("agent")))?.running === true;
    const listed = await runCliAsync(["list", "--running"], { env: env(), cwd: bottle.fixture.project });
    assert.match(
      listed.stdout,
      new RegExp(
        `${bottle.instance}\\s+${agentRunning ? "running" : "dead \\(run `claude-bottle cleanup`\\)"}`,
      ),
    );
    if (agentRunning) return;
    const cleanup = await runCliAsync(["cleanup"], { env: env(), cwd: bottle.fixture.project });
    assert.equal(cleanup.status, 0, cleanup.stderr);
    assert.match(cleanup.stdout, new RegExp(`removed ${bottle.instance}`));
    const filter = { [LABEL_INSTANCE]: bottle.instance };
    assert.equal((await engine.containerList(filter)).length, 0);
    assert.equal((await engine.networkList(filter)).length, 0);
  });
});
