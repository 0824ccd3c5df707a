import assert from "node:assert/strict";
import { test } from "node:test";
import type { DockerEngine } from "../../../../src/backend/docker/engine/engine.ts";
import { launchDocker } from "../../../../src/backend/docker/launch.ts";
import type { DockerBottlePlan } from "../../../../src/backend/docker/prepare.ts";
import type { BottleCa } from "../../../../src/lib/tls/ca.ts";

const docker = {
  instance: "dev-0123abcd",
  networks: { internal: "cb-dev-0123abcd-internal-network", egress: "cb-dev-0123abcd-egress-network" },
} as DockerBottlePlan;

/**
 * An engine whose internal network fails while the egress network is still being created, more
 * slowly: what teardown does then is the point.
 */
function engineFailingInternalNetwork() {
  const calls: string[] = [];
  const engine = new Proxy({} as DockerEngine, {
    get: (_target, name: string) => async (arg: unknown) => {
      const what =
        typeof arg === "object" && arg !== null && "name" in arg ? (arg as { name: string }).name : arg;
      calls.push(`${name} ${String(what)}`);
      if (name === "networkCreate" && what === docker.networks.internal) throw new Error("no more subnets");
      if (name === "networkCreate") {
        await new Promise((resolve) => setTimeout(resolve, 50));
        calls.push(`created ${String(what)}`);
      }
      return undefined;
    },
  });
  return { engine, calls };
}

test("a failed internal network waits for the egress network being created, then removes both", async () => {
  const { engine, calls } = engineFailingInternalNetwork();
  await assert.rejects(
    launchDocker(engine, docker, { ca: {} as BottleCa, log: () => {}, sidecars: [] }),
    /no more subnets/,
  );
  const created = calls.indexOf(`created ${docker.networks.egress}`);
  const removed = calls.indexOf(`networkRemove ${docker.networks.egress}`);
  assert.ok(created >= 0 && removed > created, calls.join("\n"));
  assert.ok(calls.includes(`networkRemove ${docker.networks.internal}`), calls.join("\n"));
  assert.ok(!calls.some((call) => call.startsWith("containerCreate")), calls.join("\n"));
});
