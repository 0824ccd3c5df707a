/**
 * The layer rules of `.dependency-cruiser.cjs` (docs/architecture.md, "Layers") can fail: each
 * forbidden shape, planted in a scratch tree laid out like src/, is reported, and the allowed
 * direction is not. `npm run lint` runs the same config over the real tree.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "../../..");

function cruise(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "layers-"));
  try {
    copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const run = spawnSync(
      join(ROOT, "node_modules/.bin/depcruise"),
      ["src", "--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "err"],
      { cwd: dir, encoding: "utf8" },
    );
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const importing = (target: string) => `import { x } from "${target}";\nexport const y = x;\n`;
const leaf = "export const x = 1;\n";

test("an import from a lower layer up to a higher one is refused; downward is allowed", () => {
  const upward = cruise({ "src/lib/a.ts": importing("../cli/b.ts"), "src/cli/b.ts": leaf });
  assert.notEqual(upward.status, 0);
  assert.match(upward.output, /no-upward-from-lib/);
  const downward = cruise({ "src/cli/a.ts": importing("../lib/b.ts"), "src/lib/b.ts": leaf });
  assert.equal(downward.status, 0, downward.output);
});

test("a cycle is refused, even within one layer", () => {
  const cycle = cruise({
    "src/plan/a.ts": `import { y } from "./b.ts";\nexport const x = 1;\nexport const z = y;\n`,
    "src/plan/b.ts": importing("./a.ts"),
  });
  assert.notEqual(cycle.status, 0);
  assert.match(cycle.output, /no-cycles/);
});

test("a sidecar program may not import host code, and only the CLI may import a sidecar", () => {
  const reaching = cruise({
    "src/sidecars/git-gate/a.ts": importing("../../plan/b.ts"),
    "src/plan/b.ts": leaf,
  });
  assert.notEqual(reaching.status, 0);
  assert.match(reaching.output, /sidecars-stand-alone/);
  const reached = cruise({
    "src/backend/a.ts": importing("../sidecars/git-gate/b.ts"),
    "src/sidecars/git-gate/b.ts": leaf,
  });
  assert.notEqual(reached.status, 0);
  assert.match(reached.output, /only-the-cli-runs-sidecars/);
  const allowed = cruise({
    "src/sidecars/git-gate/a.ts": importing("../../contracts/b.ts"),
    "src/contracts/b.ts": leaf,
  });
  assert.equal(allowed.status, 0, allowed.output);
});
