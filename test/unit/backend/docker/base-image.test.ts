import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ONLINE_BASE, packageRoot } from "../../../../src/backend/docker/images.ts";

// A tag can be re-pushed; a digest cannot. The online base is the one input a registry serves.
test("the online base image is pinned by digest, and both Dockerfiles default to it", () => {
  assert.match(ONLINE_BASE, /^node:24[\w.-]*-bookworm-slim@sha256:[0-9a-f]{64}$/);
  for (const name of ["agent", "sidecar"]) {
    const dockerfile = readFileSync(join(packageRoot(), "images", name, "Dockerfile"), "utf8");
    const defaults = [...dockerfile.matchAll(/^ARG BASE=(\S+)$/gm)].map((match) => match[1]);
    assert.deepEqual(defaults, [ONLINE_BASE], `images/${name}/Dockerfile`);
  }
});
