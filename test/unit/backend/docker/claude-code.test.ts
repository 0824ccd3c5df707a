import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type ClaudeCodePin,
  type FetchTarball,
  STAGED_BINARY,
  stageClaudeCode,
} from "../../../../src/backend/docker/claude-code.ts";
import type { DockerEngine, ImageInfo } from "../../../../src/backend/docker/engine/engine.ts";
import { LABEL_INPUTS_HASH } from "../../../../src/backend/docker/engine/engine.ts";
import { CLAUDE_CODE, CLAUDE_CODE_VERSION, ensureImage } from "../../../../src/backend/docker/images.ts";

// A stand-in for the 190 MB package: the same layout (package/claude), a few bytes.
const BINARY = "#!/bin/sh\necho 'fake claude'\n";

describe("the Claude Code binary is staged only with the pinned digests", () => {
  let dir = "";
  let tarball = "";
  let pin: ClaudeCodePin;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "claude-bottle-claude-code-"));
    await mkdir(join(dir, "src", "package"), { recursive: true });
    await writeFile(join(dir, "src", "package", "claude"), BINARY, { mode: 0o644 });
    await writeFile(join(dir, "src", "package", "package.json"), "{}\n");
    tarball = join(dir, "claude-code-linux-x64-1.0.0.tgz");
    execFileSync("tar", ["-czf", tarball, "-C", join(dir, "src"), "package"]);
    pin = {
      package: "@anthropic-ai/claude-code-linux-x64",
      version: "1.0.0",
      integrity: `sha512-${createHash("sha512")
        .update(await readFile(tarball))
        .digest("base64")}`,
      binarySha256: createHash("sha256").update(BINARY).digest("hex"),
    };
  });

  after(() => rm(dir, { recursive: true, force: true }));

  /** Serves the fake tarball (or other bytes) and counts the fetches. */
  function fetcher(bytes?: Buffer): { fetchTarball: FetchTarball; fetches: () => number } {
    let count = 0;
    return {
      fetchTarball: async (_pin, into) => {
        count++;
        const file = join(into, "package.tgz");
        if (bytes === undefined) await copyFile(tarball, file);
        else await writeFile(file, bytes);
        return file;
      },
      fetches: () => count,
    };
  }

  async function freshContext(): Promise<string> {
    return mkdtemp(join(dir, "context-"));
  }

  test("a tarball with the pinned sha512 and binary sha256 is staged, executable, and says what was verified", async () => {
    const context = await freshContext();
    const lines: string[] = [];
    const sha256 = await stageClaudeCode(context, pin, (line) => lines.push(line), fetcher().fetchTarball);
    assert.equal(sha256, pin.binarySha256);
    const binary = join(context, STAGED_BINARY);
    assert.equal(await readFile(binary, "utf8"), BINARY);
    assert.equal(statSync(binary).mode & 0o777, 0o755);
    assert.ok(
      lines.includes(`claude-code-linux-x64@1.0.0: sha512 verified, binary sha256 ${pin.binarySha256}`),
    );
    assert.equal(
      existsSync(join(context, "claude-code", "download")),
      false,
      "the tarball is not in the context",
    );
  });

  test("a tarball whose sha512 differs from the pin is refused before anything is extracted", async () => {
    const context = await freshContext();
    const tampered = Buffer.from(await readFile(tarball));
    tampered[tampered.length - 1]! ^= 0xff;
    await assert.rejects(
      stageClaudeCode(context, pin, () => {}, fetcher(tampered).fetchTarball),
      {
        code: "E_INTEGRITY",
        message: new RegExp(
          `^refusing @anthropic-ai/claude-code-linux-x64@1\\.0\\.0: its tarball has sha512-\\S+, not the pinned ${pin.integrity.replaceAll("+", "\\+")}`,
        ),
      },
    );
    assert.equal(existsSync(join(context, "claude-code", "claude")), false);
    assert.equal(existsSync(join(context, "claude-code", "download")), false);
  });

  test("a binary whose sha256 differs from the pin is refused even from a tarball with the pinned sha512", async () => {
    const context = await freshContext();
    const wrong = { ...pin, binarySha256: "0".repeat(64) };
    await assert.rejects(
      stageClaudeCode(context, wrong, () => {}, fetcher().fetchTarball),
      {
        code: "E_INTEGRITY",
        message: /its claude binary has sha256 [0-9a-f]{64}, not the pinned 0{64}/,
      },
    );
    assert.equal(existsSync(join(context, STAGED_BINARY)), false);
  });

  test("a staged binary is reused only while it has the pinned sha256", async () => {
    const context = await freshContext();
    const fetch = fetcher();
    await stageClaudeCode(context, pin, () => {}, fetch.fetchTarball);
    await stageClaudeCode(context, pin, () => {}, fetch.fetchTarball);
    assert.equal(fetch.fetches(), 1, "reused");
    await writeFile(join(context, STAGED_BINARY), "#!/bin/sh\necho swapped\n");
    await stageClaudeCode(context, pin, () => {}, fetch.fetchTarball);
    assert.equal(fetch.fetches(), 2, "fetched again");
    assert.equal(await readFile(join(context, STAGED_BINARY), "utf8"), BINARY);
  });

  test("the agent image's inputs hash covers the binary's sha256, and a mismatch never reaches docker build", async () => {
    const images = new Map<string, ImageInfo>([["base:test", image("sha256:base", {})]]);
    const builds: string[] = [];
    const engine = new Proxy({} as DockerEngine, {
      get: (_target, name: string) => {
        if (name === "imageInspect") return async (ref: string) => images.get(ref);
        if (name === "build")
          return async (options: { tag: string; labels: Record<string, string> }) => {
            builds.push(options.tag);
            images.set(options.tag, image(`sha256:${builds.length}`, options.labels));
            return `sha256:${builds.length}`;
          };
        return async () => {};
      },
    });
    const options = {
      engine,
      stageDir: await freshContext(),
      base: "base:test",
      tags: { agent: "agent:test" },
      log: () => {},
      progress: null,
    };
    const first = await ensureImage("agent", { ...options, claudeCode: { pin, ...fetcher() } });
    assert.equal(first.built, true);
    assert.equal(images.get("agent:test")?.labels[LABEL_INPUTS_HASH], first.inputsHash);
    const same = await ensureImage("agent", { ...options, claudeCode: { pin, ...fetcher() } });
    assert.equal(same.built, false);

    // Same version and tarball pin, another binary digest: stale, and the staging refuses it.
    const other = { ...pin, binarySha256: "f".repeat(64) };
    await assert.rejects(ensureImage("agent", { ...options, claudeCode: { pin: other, ...fetcher() } }), {
      code: "E_INTEGRITY",
    });
    assert.deepEqual(builds, ["agent:test"], "docker build ran once, for the verified binary");
  });

  test("the pin in the code is for CLAUDE_CODE_VERSION of the linux-x64 package", () => {
    assert.equal(CLAUDE_CODE.version, CLAUDE_CODE_VERSION);
    assert.equal(CLAUDE_CODE.package, "@anthropic-ai/claude-code-linux-x64");
    assert.match(CLAUDE_CODE.integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
    assert.match(CLAUDE_CODE.binarySha256, /^[0-9a-f]{64}$/);
  });
});

function image(id: string, labels: Record<string, string>): ImageInfo {
  return { id, tags: [], labels, size: 0, created: "", config: {} } as unknown as ImageInfo;
}
