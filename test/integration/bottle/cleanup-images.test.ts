import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { OFFLINE_BASE } from "../../../src/backend/docker/images.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

// A capability build can end after its bottle was torn down: its image is then all that is left
// of the bottle, and cleanup must still find it by its instance label.
describe("cleanup removes the images of bottles that are gone", {
  skip: docker.skip,
  timeout: 300_000,
}, () => {
  const context = mkdtempSync(join(tmpdir(), "claude-bottle-cleanup-images-"));
  let fixture: TempHome | undefined;
  const tags = ["claude-bottle-test/leftover:gone", "claude-bottle-test/leftover:unlabelled"];

  after(async () => {
    for (const tag of tags) await engine.imageRemove(tag, { force: true }).catch(() => {});
    rmSync(context, { recursive: true, force: true });
    fixture?.[Symbol.dispose]();
  });

  it("an image labelled for a bottle with nothing else left goes; an unlabelled one stays", async () => {
    writeFileSync(join(context, "Dockerfile"), `FROM ${OFFLINE_BASE}\nRUN echo leftover > /leftover\n`);
    const instance = "gone-0123abcd";
    await engine.build({
      context,
      tag: tags[0]!,
      labels: { "claude-bottle.instance": instance, "claude-bottle.role": "agent-image" },
      progress: null,
    });
    await engine.build({ context, tag: tags[1]!, progress: null });
    fixture = tempHome();
    const cleaned = await runCliAsync(["cleanup"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home },
      cwd: fixture.project,
    });
    assert.equal(cleaned.status, 0, cleaned.stderr);
    assert.match(
      cleaned.stdout,
      new RegExp(`removed ${instance} \\(0 container\\(s\\), 0 network\\(s\\), 1 image\\(s\\)\\)`),
    );
    assert.equal(await engine.imageInspect(tags[0]!), undefined);
    assert.ok(await engine.imageInspect(tags[1]!), "an image that belongs to no bottle is not cleanup's");
  });
});
