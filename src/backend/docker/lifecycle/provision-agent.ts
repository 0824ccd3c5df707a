import type { SidecarRole } from "../../instance.ts";
import type { DockerEngine } from "../engine/engine.ts";
import type { DockerBottlePlan } from "../prepare.ts";
import { provisionCa } from "../provision/ca.ts";
import { provisionPrompt } from "../provision/prompt.ts";
import { provisionSkills } from "../provision/skills.ts";
import { DOCKER_SIDECARS } from "../sidecars/index.ts";

/** The sidecars' provision steps, in order: git before cred-proxy, which appends to ~/.gitconfig. */
const SIDECAR_PROVISION_ORDER: readonly SidecarRole[] = ["git-gate", "cred-proxy", "supervise"];

export interface ProvisionTarget {
  /** The running agent container's name. */
  agent: string;
  /** The SHA-256 fingerprint of the per-bottle CA the agent trusts (shown to the user). */
  caFingerprint: string;
  log: (line: string) => void;
}

/**
 * Configures the running agent in a fixed order, each step able to rely on the ones before it:
 * the CA first so every later TLS call trusts the proxy (the agent trusts it from its start; this
 * step shows its fingerprint), the prompt, the skills, then each enabled sidecar's step. Launch
 * and a capability's replacement (replace-agent.ts) both provision through here.
 */
export async function provisionAgent(
  engine: DockerEngine,
  docker: DockerBottlePlan,
  target: ProvisionTarget,
): Promise<void> {
  const { agent } = target;
  provisionCa(target.caFingerprint, target.log);
  await provisionPrompt(engine, agent, docker.plan.agent.prompt);
  await provisionSkills(engine, agent, docker.plan.agent.skills);
  for (const role of SIDECAR_PROVISION_ORDER) {
    const sidecar = DOCKER_SIDECARS.find((candidate) => candidate.role === role);
    if (!sidecar?.enabled(docker.plan) || !sidecar.provision) continue;
    await sidecar.provision({ engine, agent, plan: docker.plan, docker });
  }
}
