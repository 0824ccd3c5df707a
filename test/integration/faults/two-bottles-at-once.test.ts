/**
 * Fault: two bottles launched at the same moment (races on names, networks, subnets, host dirs).
 * Both must come up, each on its own networks, neither able to reach the other's containers, each
 * proxy auditing only its own agent; stopping one leaves the other untouched (G7).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AGENT_USER } from "../../../src/backend/docker/agent-env.ts";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

describe("two bottles launched at once", { skip: docker.skip, timeout: 300_000 }, () => {
  let a: TestBottle;
  let b: TestBottle;
  const sh = (bottle: TestBottle, command: string) =>
    engine.containerExec(bottle.container("agent"), ["sh", "-c", command], { user: AGENT_USER });

  before(async () => {
    const launched = await Promise.allSettled([
      launchBottle({ bottle: 'egress:\n  allowlist: ["a.example.test"]\nsupervise: true' }),
      launchBottle({ bottle: 'egress:\n  allowlist: ["b.example.test"]\nsupervise: true' }),
    ]);
    const failed = launched.find((result) => result.status === "rejected");
    if (failed) {
      for (const result of launched) if (result.status === "fulfilled") await result.value.stop();
      throw failed.reason;
    }
    [a, b] = launched.map((result) => (result as PromiseFulfilledResult<TestBottle>).value) as [
      TestBottle,
      TestBottle,
    ];
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("both come up, on networks of their own", async () => {
    assert.notEqual(a.instance, b.instance);
    const subnet = async (bottle: TestBottle) =>
      (await engine.networkInspect(`cb-${bottle.instance}-internal-network`))?.subnets[0];
    const [subnetA, subnetB] = await Promise.all([subnet(a), subnet(b)]);
    assert.ok(subnetA && subnetB && subnetA !== subnetB, `${subnetA} ${subnetB}`);
    for (const bottle of [a, b]) {
      const containers = await engine.containerList({ [LABEL_INSTANCE]: bottle.instance });
      assert.equal(containers.filter((container) => container.running).length, 3);
    }
  });

  it("neither agent reaches any container of the other, directly", async () => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const targets = (await engine.containerList({ [LABEL_INSTANCE]: to.instance })).flatMap((container) =>
        Object.values(container.networks).map((network) => network.ipAddress),
      );
      assert.ok(targets.length >= 4, targets.join());
      const probes = targets
        .map(
          (ip) =>
            `node -e "require('net').connect(8888,'${ip}').on('connect',()=>console.log('reached ${ip}')).on('error',()=>{}).setTimeout(3000,function(){this.destroy()})"`,
        )
        .join(" & ");
      const result = await sh(from, `${probes}; wait`);
      assert.doesNotMatch(result.stdout, /reached/, result.stdout);
    }
  });

  it("each proxy serves its own allowlist only and audits its own agent only", async () => {
    const code = (bottle: TestBottle, host: string) =>
      sh(bottle, `curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'X-Probe: 1' http://${host}/`).then(
        (r) => r.stdout,
      );
    assert.equal(await code(a, "b.example.test"), "403");
    assert.equal(await code(b, "a.example.test"), "403");
    const hosts = (bottle: TestBottle) => new Set(bottle.audit().map((line) => line.host));
    // The proxy appends its audit line after it answered: wait for both lines to land.
    for (let waited = 0; waited < 5_000; waited += 50) {
      if (hosts(a).has("b.example.test") && hosts(b).has("a.example.test")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(!hosts(a).has("a.example.test") && !hosts(b).has("b.example.test"));
    assert.ok(hosts(a).has("b.example.test") && !hosts(a).has("a.example.test"));
    assert.ok(hosts(b).has("a.example.test") && !hosts(b).has("b.example.test"));
  });

  it("stopping one leaves the other running, its sidecars answering", async () => {
    await a.stop();
    assert.equal((await engine.containerList({ [LABEL_INSTANCE]: a.instance })).length, 0);
    const running = await engine.containerList({ [LABEL_INSTANCE]: b.instance });
    assert.equal(running.filter((container) => container.running).length, 3);
    assert.equal((await sh(b, "curl -s -m 5 http://supervise:9100/healthz")).stdout.includes("ok"), true);
  });
});
