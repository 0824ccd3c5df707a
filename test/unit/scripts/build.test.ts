import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const BUILD = pathToFileURL(join(import.meta.dirname, "../../../scripts/build.ts")).href;

// The sidecar image's inputs hash covers the bundle's bytes: a bundle that depends on the
// directory the CLI runs from makes every project directory "stale" (and, offline, unbuildable).
test("the sidecar bundle is the same bytes from whatever directory it is built", () => {
  const dir = mkdtempSync(join(tmpdir(), "claude-bottle-bundle-"));
  try {
    const deep = mkdtempSync(join(dir, "project-"));
    const bundleFrom = (cwd: string, name: string) => {
      // Same file name in its own folder: the bundle links its legal comments file by name.
      const out = join(mkdtempSync(join(dir, `${name}-`)), "sidecar.js");
      execFileSync(
        process.execPath,
        ["-e", `import(${JSON.stringify(BUILD)}).then((m) => m.bundleSidecar(${JSON.stringify(out)}))`],
        { cwd },
      );
      return readFileSync(out);
    };
    const fromRoot = bundleFrom(join(import.meta.dirname, "../../.."), "root");
    const fromProject = bundleFrom(deep, "project");
    assert.ok(fromRoot.length > 0);
    assert.ok(fromRoot.equals(fromProject), "the bundle differs with the working directory");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
