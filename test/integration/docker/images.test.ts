import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LABEL_INPUTS_HASH } from "../../../src/backend/docker/engine/engine.ts";
import { CLAUDE_CODE_VERSION, ensureImage, type ImageOptions } from "../../../src/backend/docker/images.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { BASE_IMAGE, connectDocker, removeInstance, testInstance } from "./engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const instance = testInstance();
// Test tags: the real claude-bottle/* images are left alone (layers are shared through the
// build cache, so when those exist these builds are quick).
const tags = {
  sidecar: `claude-bottle-test/sidecar:${instance.id}`,
  agent: `claude-bottle-test/agent:${instance.id}`,
};

describe("images built from images/ with content-hashed inputs", { skip: docker.skip }, () => {
  let stageDir = "";
  let options: ImageOptions;

  before(async () => {
    stageDir = await mkdtemp(join(tmpdir(), "claude-bottle-images-"));
    options = { engine, stageDir, base: BASE_IMAGE, tags, progress: null, log: () => {} };
  });

  after(async () => {
    await removeInstance(engine, instance.id);
    for (const tag of Object.values(tags)) await engine.imageRemove(tag);
    await rm(stageDir, { recursive: true, force: true });
  });

  test("the sidecar image is built when missing, then reused while its inputs do not change", async () => {
    const first = await ensureImage("sidecar", options);
    assert.equal(first.built, true);
    const image = await engine.imageInspect(tags.sidecar);
    assert.equal(image?.labels[LABEL_INPUTS_HASH], first.inputsHash);

    const second = await ensureImage("sidecar", options);
    assert.equal(second.built, false);
    assert.equal(second.id, first.id);
    assert.equal(second.inputsHash, first.inputsHash);
  });

  test("an image whose inputs hash differs is rebuilt and the stale one removed", async () => {
    const context = join(stageDir, "stale");
    await rm(context, { recursive: true, force: true });
    await mkdir(context);
    await writeFile(join(context, "Dockerfile"), `FROM ${BASE_IMAGE}\nLABEL ${LABEL_INPUTS_HASH}=stale\n`);
    const staleId = await engine.build({ context, tag: tags.sidecar, progress: null });

    const rebuilt = await ensureImage("sidecar", options);
    assert.equal(rebuilt.built, true);
    assert.notEqual(rebuilt.id, staleId);
    assert.equal(await engine.imageInspect(staleId), undefined);
  });

  test("a base image that is not here and cannot be pulled is one line saying how to build it offline", async () => {
    // A registry on a closed loopback port: the pull fails at once, and nothing leaves the machine.
    const result = await runCliAsync(
      ["images", "build", "--base", "127.0.0.1:9/missing-base:none", "sidecar", "--force"],
      {
        env: { CLAUDE_BOTTLE_HOME: stageDir },
      },
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(
      result.stderr,
      /claude-bottle: cannot build .*127\.0\.0\.1:9\/missing-base:none is not on this engine and could not be pulled.*images bootstrap-offline/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at |internal error/);
  });

  test("the agent image runs claude --version as user node", async () => {
    const agent = await ensureImage("agent", options);
    const name = `cb-${instance.id}-agent`;
    await engine.containerCreate({
      image: agent.tag,
      name,
      labels: instance.labels,
      command: ["sleep", "infinity"],
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
    });
    await engine.containerStart(name);
    const user = await engine.containerExec(name, ["id", "-un"], { check: true });
    assert.equal(user.stdout.trim(), "node");
    const version = await engine.containerExec(name, ["claude", "--version"], { check: true });
    assert.match(
      version.stdout,
      new RegExp(`^${CLAUDE_CODE_VERSION.replaceAll(".", "\\.")} \\(Claude Code\\)`),
    );
    const tools = await engine.containerExec(name, ["sh", "-c", "git --version && curl --version && pwd"], {
      check: true,
    });
    assert.match(tools.stdout, /\/home\/node\/workspace\n$/);

    const again = await ensureImage("agent", options);
    assert.equal(again.built, false);
  });
});
