import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerInfo, DockerEngine } from "../../../../src/backend/docker/engine/engine.ts";
import { ReplaceAgentError, replaceAgent } from "../../../../src/backend/docker/lifecycle/replace-agent.ts";
import { InstanceStore, REPLACING_MAX_MS } from "../../../../src/backend/state.ts";
import type { BottlePlan } from "../../../../src/plan/bottle-plan.ts";
import { tempHome } from "../../../helpers/temp-home.ts";

const INSTANCE = "builder-0123abcd";

/** An engine whose agent container has `labels`; any call that would change something fails. */
function fakeEngine(
  labels: Record<string, string>,
  running = true,
): { engine: DockerEngine; calls: string[] } {
  const calls: string[] = [];
  const engine = new Proxy({} as DockerEngine, {
    get: (_target, name: string) => async () => {
      calls.push(name);
      if (name === "containerInspect")
        return { running, labels, image: "claude-bottle/agent:latest" } as unknown as ContainerInfo;
      throw new Error(`unexpected ${name}`);
    },
  });
  return { engine, calls };
}

async function refusal(
  labels: Record<string, string>,
  options: { record?: boolean; running?: boolean } = {},
) {
  using fixture = tempHome();
  if (options.record !== false)
    new InstanceStore(fixture.home).save({
      instance: INSTANCE,
      agent: "builder",
      bottle: "growing",
      mode: labels["claude-bottle.mode"] === "attached" ? "attached" : "detached",
      ownerPid: 1,
      createdAt: new Date(0).toISOString(),
      caFingerprint: "AA",
      cwd: fixture.project,
    });
  const { engine, calls } = fakeEngine(labels, options.running);
  const error = await replaceAgent({
    engine,
    home: fixture.home,
    instance: INSTANCE,
    dockerfile: "FROM x\n",
    plan: () => ({}) as BottlePlan,
  }).then(
    () => assert.fail("replaceAgent succeeded"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ReplaceAgentError);
  assert.equal(error.changed, false);
  assert.ok(!calls.includes("build") && !calls.includes("containerRemove"), calls.join(", "));
  return error.message;
}

test("a capability is refused when the bottle has no state record or no running agent", async () => {
  assert.match(await refusal({ "claude-bottle.mode": "detached" }, { record: false }), /no state record/);
  assert.match(await refusal({ "claude-bottle.mode": "detached" }, { running: false }), /is not running/);
});

test("a replacement mark holds while its process lives, and is gone once disposed", () => {
  using fixture = tempHome();
  const store = new InstanceStore(fixture.home);
  assert.equal(store.isReplacing(INSTANCE), false);
  {
    using _mark = store.markReplacing(INSTANCE);
    assert.equal(store.isReplacing(INSTANCE), true);
  }
  assert.equal(store.isReplacing(INSTANCE), false);
});

test("the mark of a replacing process that died does not hold a session waiting", () => {
  using fixture = tempHome();
  const store = new InstanceStore(fixture.home);
  // Beyond the kernel's pid range: no such process.
  store.markReplacing(INSTANCE, 2 ** 22 + 1);
  assert.equal(store.isReplacing(INSTANCE), false);
});

test("a mark older than a replacement can take is a leftover; remove clears it with the record", () => {
  using fixture = tempHome();
  const store = new InstanceStore(fixture.home);
  store.markReplacing(INSTANCE);
  assert.equal(store.isReplacing(INSTANCE, Date.now() + REPLACING_MAX_MS + 1), false);
  assert.equal(store.isReplacing(INSTANCE), true);
  store.remove(INSTANCE);
  assert.equal(store.isReplacing(INSTANCE), false);
});
