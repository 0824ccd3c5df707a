import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CliDockerEngine } from "../../../../src/backend/docker/engine/cli.ts";
import { CopyTooLargeError, EngineError } from "../../../../src/backend/docker/engine/error.ts";

// A stand-in docker CLI: `cp C:PATH -` writes FAKE_BYTES zeros (or fails for a missing path),
// `cp - C:DIR` waits FAKE_WAIT seconds before reading, as a busy engine does, into FAKE_OUT (a
// container named *full* gives up after 100 kB).
const dir = mkdtempSync(join(tmpdir(), "copy-between-"));
const docker = join(dir, "docker");
writeFileSync(
  docker,
  `#!/bin/sh
if [ "$1" = cp ] && [ "$3" = - ]; then
  case "$2" in *missing*) echo "Error: No such container:path: $2" >&2; exit 1;; esac
  exec head -c "$FAKE_BYTES" /dev/zero
fi
if [ "$1" = cp ] && [ "$2" = - ]; then
  case "$3" in *full*) head -c 100000 > "$FAKE_OUT"; echo "Error: no space left on device" >&2; exit 1;; esac
  sleep "$FAKE_WAIT" </dev/null >/dev/null 2>&1; exec cat > "$FAKE_OUT"
fi
exit 2
`,
);
chmodSync(docker, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));
const engine = new CliDockerEngine({ docker });

function fake(bytes: number, wait = 0): string {
  const out = join(dir, `out-${bytes}-${wait}`);
  Object.assign(process.env, { FAKE_BYTES: String(bytes), FAKE_WAIT: String(wait), FAKE_OUT: out });
  return out;
}

test("streams everything under the cap and says how much", async () => {
  const out = fake(3 * 1024 * 1024);
  const copied = await engine.containerCopyBetween("old", "/home/node/workspace", "new", "/home/node", {
    maxBytes: 4 * 1024 * 1024,
  });
  assert.equal(copied, 3 * 1024 * 1024);
  assert.equal(statSync(out).size, copied);
});

test("stops both ends at the cap and rejects with CopyTooLargeError, even while the receiver is not reading yet", async () => {
  // Data piles up in the pipes while `cp -` sleeps: the cap is reached with the sender's stdout
  // paused, which must not leave the copy waiting forever.
  fake(64 * 1024 * 1024, 30);
  await assert.rejects(
    engine.containerCopyBetween("old", "/home/node/workspace", "new", "/home/node", { maxBytes: 48 * 1024 }),
    (error: unknown) => error instanceof CopyTooLargeError && error.maxBytes === 48 * 1024,
  );
});

// Without its fix this copy never settled (the CLI exited 13 with its await pending); the timeout
// turns such a hang into a failure, it measures nothing.
test("a receiver that fails stops the sender, whose unread output must not keep the copy waiting", {
  timeout: 60_000,
}, async () => {
  fake(64 * 1024 * 1024);
  await assert.rejects(
    engine.containerCopyBetween("old", "/home/node/workspace", "new-full", "/home/node", {
      maxBytes: 1024 ** 3,
    }),
    (error: unknown) => error instanceof EngineError && /no space left on device/.test(error.stderr),
  );
});

test("a missing path rejects like containerCopyOut, whichever end noticed first", async () => {
  fake(0);
  await assert.rejects(
    engine.containerCopyBetween("old", "/home/node/missing", "new", "/home/node", { maxBytes: 1024 }),
    (error: unknown) => error instanceof EngineError && error.isNotFound,
  );
});
