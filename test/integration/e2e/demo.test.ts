import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });

describe("claude-bottle demo: the real Claude Code in a real bottle", {
  skip: docker.skip,
  timeout: 900_000,
}, () => {
  it("shows an allowed request, a refused host, a refused secret push and a clean push, then leaves nothing", async () => {
    using fixture = tempHome();
    const before = new Set(
      (await docker.engine.containerList({ [LABEL_INSTANCE]: true })).map((container) => container.name),
    );
    const result = await runCliAsync(["demo"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home },
      cwd: fixture.project,
    });
    const output = result.stdout + result.stderr;
    assert.equal(result.status, 0, output);
    // The allowed request reached the stand-in upstream through the egress proxy.
    assert.match(output, /hello from an allowed host/);
    // The refusal names its code, its rule and how to ask.
    assert.match(
      output,
      /code: not-allowlisted\n\s*rule: example\.com:80 matches no egress\.allowlist entry/,
    );
    assert.match(output, /To ask for access: .*egress\.allowlist/);
    // The agent's own call to the API was intercepted and its foreign key refused (cred-proxy's
    // calls, tunnelled untouched, are the only ones the API saw: the check below).
    assert.match(output, /code: dlp-secret\n\s*rule: anthropic-api-key in headers/);
    // git-gate refused the secret with commit, file, line and rule, and forwarded nothing.
    assert.match(output, /push exit: 1/);
    assert.match(output, /push to demo rejected \(1 secret found\); nothing was forwarded upstream/);
    assert.match(output, /file config\.ini line 1 column \d+: rule aws-access-key-id/);
    // The clean push was forwarded.
    assert.match(output, /scanned 1 commit \(\d+ new objects\), no secrets; forwarded 1 ref/);
    for (const check of [
      "Claude Code finished the script",
      "every API call carried the real key, injected by cred-proxy",
      "the key is nowhere in the agent's environment",
      "the secret never reached upstream",
      "the clean commit landed upstream",
    ]) {
      assert.ok(output.includes(`✔ ${check}`), `check failed or missing: ${check}\n${output}`);
    }
    const after = (await docker.engine.containerList({ [LABEL_INSTANCE]: true })).filter(
      (container) => !before.has(container.name),
    );
    assert.deepEqual(
      after
        .filter((container) => container.labels[LABEL_INSTANCE]?.startsWith("demo-"))
        .map((container) => container.name),
      [],
    );
    const networks = await docker.engine.networkList({ [LABEL_INSTANCE]: true });
    assert.deepEqual(
      networks
        .filter((network) => network.labels[LABEL_INSTANCE]?.startsWith("demo-"))
        .map((network) => network.name),
      [],
    );
  });
});
