import assert from "node:assert/strict";
import { test } from "node:test";
import { runDocker } from "../../../../src/backend/docker/engine/run.ts";

// runDocker runs any program by argv; Node itself stands in for a docker CLI that takes its time.
const slowCommand = ["-e", "setTimeout(() => process.stdout.write('finished'), 20_000)"];

test("an abort ends the command and rejects with the abort's reason", async () => {
  const controller = new AbortController();
  const running = runDocker(process.execPath, slowCommand, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("launch interrupted")), 100);
  await assert.rejects(running, /launch interrupted/);
});

test("a signal aborted before the call never lets the command finish", async () => {
  const running = runDocker(process.execPath, slowCommand, {
    signal: AbortSignal.abort(new Error("too late")),
  });
  await assert.rejects(running, /too late/);
});

test("a signal that is never aborted changes nothing", async () => {
  const result = await runDocker(process.execPath, ["-e", "process.stdout.write('ok')"], {
    signal: new AbortController().signal,
  });
  assert.equal(result.stdout, "ok");
});
