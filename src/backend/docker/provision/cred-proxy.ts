import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import { AGENT_USER } from "../agent-env.ts";
import type { DockerEngine, InMemoryFile } from "../engine/engine.ts";
import {
  AGENT_CRED_PROXY_GITCONFIG,
  AGENT_NPMRC,
  AGENT_TEA_CONFIG,
  gitconfigText,
  npmrcText,
  teaConfigText,
} from "./cred-proxy-roles.ts";

const AGENT_UID = 1000;

/** Files the agent gets for the bottle's route roles, owned by the agent user. */
export function credProxyAgentFiles(plan: BottlePlan): InMemoryFile[] {
  const files: InMemoryFile[] = [];
  const add = (path: string, content: string | undefined, mode: number) => {
    if (content !== undefined)
      files.push({ path: path.slice(1), content, mode, uid: AGENT_UID, gid: AGENT_UID });
  };
  add(AGENT_NPMRC, npmrcText(plan), 0o600);
  add(AGENT_TEA_CONFIG, teaConfigText(plan), 0o600);
  add(AGENT_CRED_PROXY_GITCONFIG, gitconfigText(plan), 0o644);
  return files;
}

/**
 * The cred-proxy provision step: role files copied in (ANTHROPIC_BASE_URL is already in the
 * agent's environment, from prepare.ts), and the git rewrites included from ~/.gitconfig. It runs
 * after git-gate's step and appends, so git-gate's own rewrites stay.
 */
export async function provisionCredProxy(
  engine: DockerEngine,
  agent: string,
  plan: BottlePlan,
): Promise<void> {
  const files = credProxyAgentFiles(plan);
  if (files.length === 0) return;
  // Parents first, as the agent: directories docker cp creates would belong to root (and the
  // agent, without CAP_CHOWN even as root, could never write to ~/.config again).
  const parents = [...new Set(files.map((file) => `/${file.path.slice(0, file.path.lastIndexOf("/"))}`))];
  await engine.containerExec(agent, ["mkdir", "-p", ...parents], { user: AGENT_USER, check: true });
  await engine.containerCopyIn(agent, "/", files);
  if (gitconfigText(plan) !== undefined) {
    await engine.containerExec(
      agent,
      ["git", "config", "--global", "--add", "include.path", AGENT_CRED_PROXY_GITCONFIG],
      { user: AGENT_USER, check: true },
    );
  }
}
