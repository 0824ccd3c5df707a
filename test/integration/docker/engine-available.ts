/**
 * Shared by the Docker integration tests: connects to the real engine once per file. Without an
 * engine the tests skip, unless CLAUDE_BOTTLE_REQUIRE_DOCKER=1 (CI), where the file fails.
 */
import { randomBytes } from "node:crypto";
import { CliDockerEngine } from "../../../src/backend/docker/engine/cli.ts";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";

export const BASE_IMAGE = process.env.CLAUDE_BOTTLE_BASE_IMAGE ?? "claude-bottle/base:bookworm-node24";

export interface DockerUnderTest {
  engine: CliDockerEngine;
  /** false when the engine answers, else why the tests skip. */
  skip: string | false;
}

export async function connectDocker(needs: { baseImage?: boolean } = {}): Promise<DockerUnderTest> {
  const engine = new CliDockerEngine();
  const unavailable = (reason: string): DockerUnderTest => {
    if (process.env.CLAUDE_BOTTLE_REQUIRE_DOCKER === "1") {
      throw new Error(`CLAUDE_BOTTLE_REQUIRE_DOCKER=1 but ${reason}`);
    }
    return { engine, skip: `${reason} (CLAUDE_BOTTLE_REQUIRE_DOCKER=1 makes this fail)` };
  };
  try {
    await engine.info();
  } catch (error) {
    return unavailable(
      `no Docker engine answers (${String(error instanceof Error ? error.message : error).replaceAll("\n", "; ")})`,
    );
  }
  if (needs.baseImage === true && (await engine.imageInspect(BASE_IMAGE)) === undefined) {
    return unavailable(`the base image ${BASE_IMAGE} is missing; run scripts/bootstrap-base-image.sh`);
  }
  return { engine, skip: false };
}

/** A fresh instance id for one test file; everything it creates carries it as a label. */
export function testInstance(): { id: string; labels: Record<string, string> } {
  const id = `test-${randomBytes(4).toString("hex")}`;
  return { id, labels: { [LABEL_INSTANCE]: id, "claude-bottle.test": "1" } };
}

/** Removes every container, then every network, labelled with the instance. */
export async function removeInstance(engine: CliDockerEngine, instance: string): Promise<void> {
  const filter = { [LABEL_INSTANCE]: instance };
  for (const container of await engine.containerList(filter)) await engine.containerRemove(container.id);
  for (const network of await engine.networkList(filter)) await engine.networkRemove(network.id);
}
