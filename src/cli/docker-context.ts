import { findInstances } from "../backend/docker/cleanup.ts";
import { CliDockerEngine } from "../backend/docker/engine/cli.ts";
import type { EngineInfo } from "../backend/docker/engine/engine.ts";
import type { DockerHost } from "../backend/docker/lifecycle/host.ts";
import { InstanceStore } from "../backend/state.ts";
import { bottleHome } from "../lib/home-layout.ts";
import { UserError } from "../lib/user-error.ts";

import type { CliContext } from "./context.ts";

/** The engine, asked once whether it answers, and the instance store beside the manifests. */
export async function openDocker(context: CliContext): Promise<DockerHost> {
  const engine = new CliDockerEngine();
  let info: EngineInfo;
  try {
    info = await engine.info();
  } catch (error) {
    throw new UserError(
      `no Docker engine answers (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); start Docker, or run scripts/docker-up.sh as root on Debian`,
      // Not bad input: the system is not ready (exit 1, as the README says).
      { cause: error, exitCode: 1, code: "E_NO_ENGINE" },
    );
  }
  const home = bottleHome(context.env);
  return { engine, info, store: new InstanceStore(home), home };
}

/** Warns about resources of dead instances: a crashed run must not leave a bottle unnoticed. */
export async function warnAboutOrphans(
  docker: Pick<DockerHost, "engine">,
  context: CliContext,
): Promise<void> {
  const dead = (await findInstances(docker.engine)).filter((instance) => !instance.alive);
  if (dead.length) {
    context.stderr.write(
      `claude-bottle: warning: ${dead.length} leftover bottle(s) of dead runs (${dead.map((instance) => instance.instance).join(", ")}); remove them with \`claude-bottle cleanup\`\n`,
    );
  }
}
