import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { test } from "node:test";
import {
  containerCreateArgs,
  copyOutArgs,
  execArgs,
  killArgs,
} from "../../../../src/backend/docker/engine/args.ts";
import { envFileText, withEnvFile } from "../../../../src/backend/docker/engine/env-file.ts";
import { firstTarFile, tarFiles } from "../../../../src/backend/docker/engine/tar.ts";

test("environment values never appear in the create argv: only the env file's path does", () => {
  const args = containerCreateArgs(
    { image: "img", env: { ANTHROPIC_API_KEY: "sk-ant-secret" }, command: ["sleep", "1"] },
    "/tmp/x/env",
  );
  assert.deepEqual(args, ["create", "--env-file", "/tmp/x/env", "img", "sleep", "1"]);
});

test("env file: one NAME=VALUE a line; names that could smuggle a value and values that could end a line are refused", () => {
  assert.equal(envFileText({ A: "1", LD_PRELOAD: "/x.so", EMPTY: "" }), "A=1\nLD_PRELOAD=/x.so\nEMPTY=\n");
  for (const name of ["A=B", "-e", "", "1X", "A B"]) {
    assert.throws(() => envFileText({ [name]: "v" }), TypeError, name);
  }
  for (const value of ["a\nB=c", "a\rb", "a\0b"]) {
    assert.throws(
      () => envFileText({ SECRET: value }),
      (error: Error) => !error.message.includes(value),
    );
  }
});

test("env file: written 0600 in a private directory and removed when the command ends, even when it fails", async () => {
  let seen = "";
  await assert.rejects(
    withEnvFile({ TOKEN: "t0k" }, async (path) => {
      seen = path!;
      assert.equal(readFileSync(path!, "utf8"), "TOKEN=t0k\n");
      assert.equal(statSync(path!).mode & 0o777, 0o600);
      assert.equal(statSync(dirname(path!)).mode & 0o777, 0o700);
      throw new Error("docker failed");
    }),
    /docker failed/,
  );
  assert.equal(existsSync(dirname(seen)), false);
  assert.equal(await withEnvFile({}, async (path) => path), undefined);
});

test("a bind mount path with a comma is refused rather than parsed as more options", () => {
  assert.throws(() =>
    containerCreateArgs({ image: "i", mounts: [{ source: "/a,readonly=false", target: "/b" }] }),
  );
});

test("the image comes after every option and the command after the image", () => {
  const args = containerCreateArgs({
    image: "img",
    name: "n",
    labels: { "claude-bottle.instance": "x" },
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
    runtime: "runsc",
    healthcheck: { shellCommand: "true", intervalMs: 500 },
    command: ["--not-an-option-of-docker"],
  });
  assert.deepEqual(args.slice(-2), ["img", "--not-an-option-of-docker"]);
  assert.ok(args.includes("--health-interval") && args.includes("500ms"));
});

test("exec asks for a TTY only when stdio is inherited from a terminal", () => {
  const base = ["exec", "--interactive"];
  assert.deepEqual(execArgs("c", ["sh"], { stdio: "inherit" }, { stdinIsTty: true }), [
    ...base,
    "--tty",
    "c",
    "sh",
  ]);
  assert.deepEqual(execArgs("c", ["sh"], { stdio: "inherit" }, { stdinIsTty: false }), [...base, "c", "sh"]);
  assert.deepEqual(execArgs("c", ["true"], {}, { stdinIsTty: true }), ["exec", "c", "true"]);
  assert.throws(() => execArgs("c", [], {}, { stdinIsTty: false }));
});

test("the in-memory tar has valid ustar headers, padding and an end marker", () => {
  const tar = tarFiles([{ path: "a/b.txt", content: "hi", mode: 0o600, uid: 1000 }], new Date(0));
  assert.equal(tar.length, 512 + 512 + 1024);
  assert.equal(tar.subarray(0, 7).toString(), "a/b.txt");
  assert.equal(tar.subarray(100, 107).toString(), "0000600");
  assert.equal(tar.subarray(108, 115).toString(), "0001750");
  assert.equal(tar.subarray(257, 262).toString(), "ustar");
  const stored = Number.parseInt(tar.subarray(148, 154).toString(), 8);
  const header = Buffer.from(tar.subarray(0, 512));
  header.fill(" ", 148, 156);
  assert.equal(
    stored,
    header.reduce((sum, byte) => sum + byte, 0),
  );
  assert.equal(tar.subarray(512, 514).toString(), "hi");
  for (const path of ["/etc/passwd", "../x", "a//b", "a/./b", ""]) {
    assert.throws(() => tarFiles([{ path, content: "" }]), TypeError, path);
  }
});

test("kill sends a named signal and refuses anything that is not one", () => {
  assert.deepEqual(killArgs("cb-x-egress-proxy", "HUP"), ["kill", "--signal", "HUP", "cb-x-egress-proxy"]);
  assert.deepEqual(killArgs("c", "SIGTERM"), ["kill", "--signal", "SIGTERM", "c"]);
  for (const bad of ["--help", "HUP c2", "", "hup"]) assert.throws(() => killArgs("c", bad), TypeError);
});

test("cp out asks for a tar of an absolute path on stdout and refuses anything else", () => {
  assert.deepEqual(copyOutArgs("cb-x-agent", "/home/node/.claude"), [
    "cp",
    "cb-x-agent:/home/node/.claude",
    "-",
  ]);
  for (const bad of ["relative", "/a/../etc", "/a\u0000b", ""])
    assert.throws(() => copyOutArgs("c", bad), TypeError);
  assert.throws(() => copyOutArgs("--help", "/etc"), TypeError);
});

test("the first regular file of a tar is read back, pax headers and long paths included", () => {
  const long = `${"d".repeat(120)}/ca.pem`;
  const pax = tarFiles([{ path: "PaxHeaders/ca.pem", content: "27 path=ignored/entry.pem\n" }]);
  pax.write("x", 156, 1, "ascii");
  const tar = Buffer.concat([pax.subarray(0, 1024), tarFiles([{ path: long, content: "PEM\n" }])]);
  assert.deepEqual(firstTarFile(tar), { name: long, content: Buffer.from("PEM\n") });
  assert.equal(firstTarFile(tarFiles([])), undefined);
});
