import { readFile } from "node:fs/promises";
import { GIT_GATE } from "../../../contracts/git-gate.ts";
import { gitGateLogDir } from "../../../lib/home-layout.ts";
import { shareDirWithGroup } from "../../../lib/host-files.ts";
import { createContainer, waitReady } from "../container-steps.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { listeningCheck } from "../listening-probe.ts";
import type { DockerBottlePlan } from "../prepare.ts";
import { sidecarBase } from "../prepare.ts";
import { gateExtraHosts, gitGateFiles } from "../provision/git-gate-files.ts";
import { provisionGitRemotes } from "../provision/git-remotes.ts";
import { type DockerSidecar, sidecarHealthcheck } from "./sidecar.ts";

/**
 * git-gate (docs/architecture.md, "Sidecars"; G4 in docs/guarantees.md): real git behind
 * `git://git-gate/<Name>.git` on the internal network; its own SSH to the upstreams leaves on the
 * egress network, with keys only it holds.
 */
export const gitGateSidecar: DockerSidecar = {
  role: "git-gate",

  enabled: (plan) => plan.gitRemotes.length > 0,

  spec(docker: DockerBottlePlan): ContainerSpec & { name: string } {
    return {
      ...sidecarBase(docker, "git-gate"),
      networkAliases: [GIT_GATE.alias],
      hostname: GIT_GATE.alias,
      user: `${GIT_GATE.uid}:${GIT_GATE.gid}`,
      // git-gate must stay the image's user (ssh needs a passwd entry); it writes its audit dir
      // through the group the host shares it with (shareDirWithGroup), never as its owner.
      groupAdd: [String(docker.hostUser.gid)],
      mounts: [{ source: gitGateLogDir(docker.logDir), target: GIT_GATE.auditDir }],
      command: ["git-gate", "serve", "--config", GIT_GATE.configFile],
      extraHosts: gateExtraHosts(docker.plan),
      // Listening is enough: a check that fetched would contact upstream every time.
      healthcheck: sidecarHealthcheck(listeningCheck(GIT_GATE.port)),
    };
  },

  async start({ engine, stack, docker, egressNetwork, signal }) {
    // Read every key before creating anything: a missing file fails the launch cleanly.
    const identities = new Map<string, Buffer>();
    for (const remote of docker.plan.gitRemotes) {
      try {
        identities.set(remote.name, await readFile(remote.identityFile));
      } catch (error) {
        throw new Error(
          `git remote ${remote.name}: cannot read IdentityFile ${remote.identityFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        );
      }
    }
    const spec = gitGateSidecar.spec(docker);
    shareDirWithGroup(gitGateLogDir(docker.logDir), docker.hostUser.gid);
    await createContainer(engine, stack, spec);
    await egressNetwork;
    await engine.networkConnect(docker.networks.egress, spec.name);
    // The keys go from memory into this container only (mode 600), never into the agent.
    await engine.containerCopyIn(spec.name, "/", gitGateFiles(docker.plan, identities));
    await engine.containerStart(spec.name);
    await waitReady(engine, spec.name, listeningCheck(GIT_GATE.port), { signal });
  },

  async provision({ engine, agent, plan }) {
    await provisionGitRemotes(engine, agent, plan.gitRemotes);
  },
};
