import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CURRENT_CONFIG_FILES, SUPERVISE } from "../../../contracts/supervise.ts";
import type { DockerEngine } from "../engine/engine.ts";

/** Copies the host's current-config dir into the agent (see copyToAgent). */
export async function syncAgentCurrentConfig(
  engine: DockerEngine,
  agent: string,
  dir: string,
): Promise<void> {
  const files = Object.values(CURRENT_CONFIG_FILES).flatMap((name) => {
    try {
      return [{ name, content: readFileSync(join(dir, name), "utf8") }];
    } catch {
      return [];
    }
  });
  await copyToAgent(engine, agent, files);
}

/**
 * Puts current-config files into the agent container at SUPERVISE.currentConfigMount, owned by
 * root (0644): the agent (uid 1000, no capabilities) can read them and cannot change them. A
 * copy, not a bind mount, so the agent container needs no host dir when it is created.
 */
export async function copyToAgent(
  engine: DockerEngine,
  agent: string,
  files: readonly { name: string; content: string }[],
): Promise<void> {
  await engine.containerCopyIn(
    agent,
    "/",
    files.map(({ name, content }) => ({
      path: `${SUPERVISE.currentConfigMount.slice(1)}/${name}`,
      content,
      mode: 0o644,
      uid: 0,
      gid: 0,
    })),
  );
}
