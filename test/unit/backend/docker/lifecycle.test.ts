import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerInfo, DockerEngine } from "../../../../src/backend/docker/engine/engine.ts";
import { launchDocker } from "../../../../src/backend/docker/launch.ts";
import { cleanupInstances, stopInstance } from "../../../../src/backend/docker/lifecycle/stop.ts";
import type { DockerBottlePlan } from "../../../../src/backend/docker/prepare.ts";
import type { DockerSidecar } from "../../../../src/backend/docker/sidecars/sidecar.ts";
import { InstanceStore } from "../../../../src/backend/state.ts";
import type { BottleCa } from "../../../../src/lib/tls/ca.ts";
import type { BottlePlan } from "../../../../src/plan/bottle-plan.ts";
import { tempHome } from "../../../helpers/temp-home.ts";

const INSTANCE = "dev-0123abcd";

/** An engine that answers every call with `answers[name]` (undefined otherwise) and records it. */
function fakeEngine(answers: Record<string, unknown> = {}) {
  const calls: string[] = [];
  const engine = new Proxy({} as DockerEngine, {
    get: (_target, name: string) => async (arg: unknown) => {
      const what =
        typeof arg === "object" && arg !== null && "name" in arg ? (arg as { name: string }).name : arg;
      calls.push(`${name} ${String(what)}`);
      return answers[name];
    },
  });
  return { engine, calls };
}

function recordingSidecar(
  role: DockerSidecar["role"],
  seen: { role: string; keyPem: string | undefined }[],
  flags: Partial<Pick<DockerSidecar, "first" | "holdsCaKey">> = {},
): DockerSidecar {
  return {
    role,
    ...flags,
    enabled: () => true,
    spec: () => ({ name: role, image: "s" }),
    async start({ ca }) {
      seen.push({ role, keyPem: ca.keyPem });
    },
  };
}

test("launch starts the `first` sidecar before the others, and only the one that holds it gets the CA key", async () => {
  const { engine } = fakeEngine({
    networkInspect: { subnets: ["10.9.0.0/24"] },
    containerCopyOut: Buffer.alloc(0),
  });
  const docker = {
    instance: INSTANCE,
    plan: {} as BottlePlan,
    networks: { internal: "cb-dev-0123abcd-internal-network", egress: "cb-dev-0123abcd-egress-network" },
    agent: { name: "cb-dev-0123abcd-agent", image: "a" },
  } as DockerBottlePlan;
  const seen: { role: string; keyPem: string | undefined }[] = [];
  const sidecars = [
    recordingSidecar("cred-proxy", seen),
    recordingSidecar("egress-proxy", seen, { first: true, holdsCaKey: true }),
    recordingSidecar("supervise", seen),
  ];
  const lines: string[] = [];
  const ca = { certPem: "CERT", keyPem: "KEY", sha256Fingerprint: "AA" } as BottleCa;
  await using _launched = await launchDocker(engine, docker, {
    ca,
    log: (line) => lines.push(line),
    sidecars,
  });
  assert.equal(seen[0]?.role, "egress-proxy");
  assert.deepEqual(
    seen.map((entry) => [entry.role, entry.keyPem]),
    [
      ["egress-proxy", "KEY"],
      ["cred-proxy", undefined],
      ["supervise", undefined],
    ],
  );
  assert.deepEqual(lines.slice(0, 3), [
    "creating networks",
    "starting egress-proxy",
    "starting cred-proxy, supervise",
  ]);
});

test("stop of an instance with no resources and no state record stops nothing", async () => {
  using fixture = tempHome();
  const { engine, calls } = fakeEngine({ containerList: [], networkList: [], imageList: [] });
  const store = new InstanceStore(fixture.home);
  assert.equal(await stopInstance({ engine, store, home: fixture.home }, INSTANCE), false);
  assert.ok(!calls.some((call) => call.startsWith("containerRemove")), calls.join("\n"));
});

test("stop of an instance whose resources are gone still removes its state record", async () => {
  using fixture = tempHome();
  const { engine } = fakeEngine({ containerList: [], networkList: [], imageList: [] });
  const store = new InstanceStore(fixture.home);
  store.save({
    instance: INSTANCE,
    agent: "dev",
    bottle: "default",
    mode: "detached",
    ownerPid: 1,
    createdAt: new Date(0).toISOString(),
    caFingerprint: "AA",
    cwd: fixture.project,
  });
  assert.equal(await stopInstance({ engine, store, home: fixture.home }, INSTANCE), true);
  assert.equal(store.load(INSTANCE), undefined);
});

test("cleanup removes an instance whose run ended, says so as it goes, and returns what it removed", async () => {
  using fixture = tempHome();
  const container = {
    name: `cb-${INSTANCE}-egress-proxy`,
    running: true,
    labels: { "claude-bottle.instance": INSTANCE, "claude-bottle.role": "egress-proxy" },
  } as unknown as ContainerInfo;
  const { engine, calls } = fakeEngine({ containerList: [container], networkList: [], imageList: [] });
  const store = new InstanceStore(fixture.home);
  const heard: string[] = [];
  const { removed, live } = await cleanupInstances({ engine, store, home: fixture.home }, (found) =>
    heard.push(found.instance),
  );
  assert.deepEqual(heard, [INSTANCE]);
  assert.deepEqual(
    removed.map((found) => found.instance),
    [INSTANCE],
  );
  assert.equal(live.size, 0);
  assert.ok(calls.includes(`containerRemove cb-${INSTANCE}-egress-proxy`), calls.join("\n"));
});
