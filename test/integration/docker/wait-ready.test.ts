import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { waitReady } from "../../../src/backend/docker/container-steps.ts";
import { LABEL_ROLE } from "../../../src/backend/docker/engine/engine.ts";
import { listeningCheck } from "../../../src/backend/docker/listening-probe.ts";
import { BASE_IMAGE, connectDocker, removeInstance, testInstance } from "./engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const instance = testInstance();
let containers = 0;

/** A started container of the base image running `script` under sh. */
async function started(script: string): Promise<string> {
  const name = `cb-${instance.id}-ready-${++containers}`;
  await engine.containerCreate({
    image: BASE_IMAGE,
    name,
    labels: { ...instance.labels, [LABEL_ROLE]: "test" },
    entrypoint: "sh",
    command: ["-c", script],
  });
  await engine.containerStart(name);
  return name;
}

/** Node listening on `port` after `delayMs`, as a sidecar does once it has loaded. */
const listenLater = (port: number, delayMs: number) =>
  `exec node -e 'setTimeout(() => require("node:net").createServer().listen(${port}, "0.0.0.0"), ${delayMs})'`;

describe("waitReady against real containers", { skip: docker.skip }, () => {
  after(() => removeInstance(engine, instance.id));

  test("returns once the port listens, which happens only a while after start", async () => {
    const name = await started(listenLater(7070, 700));
    await waitReady(engine, name, listeningCheck(7070));
    const check = await engine.containerExec(name, ["sh", "-c", listeningCheck(7070)]);
    assert.equal(check.exitCode, 0);
  });

  test("fails naming the container and its exit code when it exits while starting", async () => {
    const name = await started("sleep 0.3; exit 3");
    await assert.rejects(waitReady(engine, name, listeningCheck(7071)), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`${name} exited while starting .*exit code 3.*docker logs ${name}`),
      );
      return true;
    });
  });

  test("fails with a timeout message when the port never listens", async () => {
    const name = await started("exec sleep infinity");
    await assert.rejects(
      waitReady(engine, name, listeningCheck(7072), { timeoutMs: 1 }),
      new RegExp(`${name} was not ready within 0 s; see \`docker logs ${name}\``),
    );
  });

  test("an abort ends the wait with the abort's reason", async () => {
    const name = await started("exec sleep infinity");
    const controller = new AbortController();
    const waiting = waitReady(engine, name, listeningCheck(7073), { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort(new Error("SIGINT during launch"));
    await assert.rejects(waiting, /SIGINT during launch/);
  });
});
