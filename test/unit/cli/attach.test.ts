import assert from "node:assert/strict";
import { test } from "node:test";
import type { ContainerInfo, DockerEngine } from "../../../src/backend/docker/engine/engine.ts";
import { attachSession } from "../../../src/cli/attach.ts";

type Engine = Pick<DockerEngine, "containerExec" | "containerInspect">;

/** An agent container whose id changes when `replace` is called; execs exit with `exitCode`. */
function agent(exitCode: number) {
  let id = "first";
  const execs: string[][] = [];
  const engine: Engine = {
    containerInspect: async () => ({ id, running: true }) as ContainerInfo,
    containerExec: async (_name, command) => {
      execs.push([...command]);
      return { exitCode, stdout: "", stderr: "" };
    },
  };
  return { engine, execs, replace: () => (id = "second") };
}

test("a wait for a replacement that never ends is ended by the signal, with the session's exit code", async () => {
  const { engine, execs } = agent(5);
  const controller = new AbortController();
  const logged: string[] = [];
  const attached = attachSession({
    engine,
    store: { isReplacing: () => execs.length > 0 },
    instance: "dev-0123abcd",
    command: ["first-session"],
    log: (line) => logged.push(line),
    signal: controller.signal,
    pollMs: 5,
  });
  setTimeout(() => controller.abort(), 50);
  assert.equal(await attached, 5);
  assert.deepEqual(execs, [["first-session"]]);
  assert.match(logged.join("\n"), /being replaced .*waiting for the new one/);
});

test("a replacement under way when the session starts is waited for before attaching", async () => {
  const { engine, execs, replace } = agent(0);
  let replacing = true;
  setTimeout(() => {
    replace();
    replacing = false;
  }, 30);
  const exitCode = await attachSession({
    engine,
    store: { isReplacing: () => replacing },
    instance: "dev-0123abcd",
    command: ["first-session"],
    log: () => {},
    pollMs: 5,
  });
  // Attached once, to the new container: no second, continued session.
  assert.equal(exitCode, 0);
  assert.deepEqual(execs, [["first-session"]]);
});

test("a session whose exec never returns after its container was replaced continues in the new one", async () => {
  let id = "first";
  const execs: string[][] = [];
  const engine: Engine = {
    containerInspect: async () => ({ id, running: true }) as ContainerInfo,
    containerExec: (_name, command, options) => {
      execs.push([...command]);
      if (execs.length > 1) return Promise.resolve({ exitCode: 7, stdout: "", stderr: "" });
      // gVisor on Docker 20.10: the exec into the removed container hangs until it is killed.
      return new Promise((_resolve, reject) =>
        options?.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true }),
      );
    },
  };
  setTimeout(() => {
    id = "second";
  }, 50);
  const logged: string[] = [];
  const exitCode = await attachSession({
    engine,
    store: { isReplacing: () => false },
    instance: "dev-0123abcd",
    command: ["first-session"],
    continueCommand: ["continued"],
    log: (line) => logged.push(line),
    pollMs: 5,
  });
  assert.equal(exitCode, 7);
  assert.deepEqual(execs, [["first-session"], ["continued"]]);
  assert.match(logged.join("\n"), /continuing the session/);
});
