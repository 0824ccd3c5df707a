import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { LABEL_INSTANCE, LABEL_ROLE } from "../../../src/backend/docker/engine/engine.ts";
import { EngineError, isEngineError } from "../../../src/backend/docker/engine/error.ts";
import { BASE_IMAGE, connectDocker, removeInstance, testInstance } from "./engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const instance = testInstance();

describe("the CLI docker engine against the real engine", { skip: docker.skip }, () => {
  after(() => removeInstance(engine, instance.id));

  test("info reports the server version and whether runsc is registered", async () => {
    const info = await engine.info();
    assert.match(info.serverVersion, /^\d+\.\d+/);
    assert.ok(info.runtimes.includes("runc"));
    assert.ok(info.runtimes.includes("runc"), info.runtimes.join());
    for (const name of info.runtimes) assert.equal(typeof info.runtimeConfigs[name], "string");
  });

  test("an internal network is created with labels, found by label, inspected for its CIDR and removed", async () => {
    const name = `cb-${instance.id}-net`;
    const id = await engine.networkCreate({
      name,
      internal: true,
      labels: { ...instance.labels, [LABEL_ROLE]: "internal" },
    });
    const network = await engine.networkInspect(name);
    assert.ok(network);
    assert.equal(network.id, id);
    assert.equal(network.internal, true);
    assert.equal(network.labels[LABEL_ROLE], "internal");
    assert.match(network.subnets[0] ?? "", /^\d+\.\d+\.\d+\.\d+\/\d+$/);

    const listed = await engine.networkList({ [LABEL_INSTANCE]: instance.id, [LABEL_ROLE]: true });
    assert.deepEqual(
      listed.map((n) => n.name),
      [name],
    );
    assert.deepEqual(await engine.networkList({ [LABEL_INSTANCE]: "no-such-instance" }), []);

    await engine.networkRemove(name);
    assert.equal(await engine.networkInspect(name), undefined);
    await engine.networkRemove(name); // removing twice is not an error
  });

  test("a container gets files copied from memory, runs commands and reports exit codes", async () => {
    const name = `cb-${instance.id}-box`;
    // Carried verbatim through the env file: spaces, quotes, `=`, `$`, `#`, a trailing space.
    const secret = `s3cret value with spaces = "quoted" 'single' $HOME #not-a-comment `;
    await engine.containerCreate({
      image: BASE_IMAGE,
      name,
      labels: { ...instance.labels, [LABEL_ROLE]: "agent" },
      env: { BOTTLE_SECRET: secret, PATH: "/usr/local/bin:/usr/bin:/bin" },
      command: ["sleep", "infinity"],
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      pidsLimit: 128,
      init: true,
    });
    const created = await engine.containerInspect(name);
    assert.equal(created?.status, "created");

    const key = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    await engine.containerCopyIn(name, "/tmp", [
      { path: "ca/key.bin", content: key, mode: 0o600, uid: 1000, gid: 1000 },
      { path: "hello.txt", content: "hello from memory\n" },
    ]);
    await engine.containerStart(name);

    const running = await engine.containerInspect(name);
    assert.equal(running?.running, true);
    assert.equal(running?.labels[LABEL_ROLE], "agent");
    const listed = await engine.containerList({ [LABEL_INSTANCE]: instance.id });
    assert.deepEqual(
      listed.map((c) => c.name),
      [name],
    );

    const stat = await engine.containerExec(name, ["stat", "-c", "%a %u %g %s", "/tmp/ca/key.bin"], {
      check: true,
    });
    assert.equal(stat.stdout.trim(), `600 1000 1000 ${key.length}`);
    const hex = await engine.containerExec(name, ["od", "-An", "-tx1", "/tmp/ca/key.bin"], {
      user: "node",
      check: true,
    });
    // All capabilities dropped: root cannot read node's 0600 file (no CAP_DAC_OVERRIDE).
    const asRoot = await engine.containerExec(name, ["cat", "/tmp/ca/key.bin"]);
    assert.equal(asRoot.exitCode, 1);
    assert.equal(hex.stdout.replace(/\s+/g, ""), key.toString("hex"));
    const hello = await engine.containerExec(name, ["cat", "/tmp/hello.txt"]);
    assert.equal(hello.stdout, "hello from memory\n");

    const env = await engine.containerExec(name, ["printenv", "BOTTLE_SECRET"]);
    assert.equal(env.stdout, `${secret}\n`);
    const execEnv = await engine.containerExec(name, ["sh", "-c", 'printf %s "$ONE"'], {
      env: { ONE: "a b=c" },
    });
    assert.equal(execEnv.stdout, "a b=c");
    // A line break would end the value in the env file: refused, without echoing the value.
    await assert.rejects(
      engine.containerExec(name, ["true"], { env: { TWO: "line\nsecret-second-line" } }),
      (error: Error) =>
        /TWO: a value with a line break/.test(error.message) && !error.message.includes("secret-second"),
    );

    const failed = await engine.containerExec(name, ["sh", "-c", "echo oops >&2; exit 7"]);
    assert.equal(failed.exitCode, 7);
    assert.equal(failed.stderr, "oops\n");

    const asNode = await engine.containerExec(name, ["id", "-un"], { user: "node" });
    assert.equal(asNode.stdout.trim(), "node");

    const echoed = await engine.containerExec(name, ["cat"], { input: "piped in" });
    assert.equal(echoed.stdout, "piped in");

    await assert.rejects(
      engine.containerExec(name, ["false"], { check: true }),
      (error: unknown) => isEngineError(error) && error.exitCode === 1 && error.command.includes("false"),
    );

    await engine.containerRemove(name);
    assert.equal(await engine.containerInspect(name), undefined);
    await engine.containerRemove(name); // idempotent
  });

  test("a healthcheck turns the container healthy", async () => {
    const name = `cb-${instance.id}-health`;
    await engine.containerCreate({
      image: BASE_IMAGE,
      name,
      labels: instance.labels,
      command: ["sleep", "infinity"],
      healthcheck: { shellCommand: "test -e /proc/1", intervalMs: 200, timeoutMs: 1000, retries: 3 },
    });
    await engine.containerStart(name);
    let health = (await engine.containerInspect(name))?.health;
    for (let i = 0; i < 50 && health !== "healthy"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = (await engine.containerInspect(name))?.health;
    }
    assert.equal(health, "healthy");
    await engine.containerRemove(name);
  });

  test("failures carry the command, exit code and stderr; missing objects read as undefined", async () => {
    assert.equal(await engine.imageInspect("claude-bottle/no-such-image:never"), undefined);
    assert.equal(await engine.containerInspect("cb-no-such-container"), undefined);
    assert.equal(await engine.networkInspect("cb-no-such-network"), undefined);
    const error = await engine
      .containerCreate({ image: "claude-bottle/no-such-image:never", labels: instance.labels })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof EngineError, String(error));
    assert.notEqual(error.exitCode, 0);
    assert.match(error.shortMessage, /^Command failed with exit code \d+: docker create /);
    assert.match(error.stderr, /no-such-image/);
  });
});
