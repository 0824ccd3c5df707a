import { AGENT_HOME } from "../agent-env.ts";
import type { DockerEngine } from "../engine/engine.ts";

export const AGENT_PROMPT_FILE = `${AGENT_HOME}/.claude-bottle/prompt.md`;

/** Puts the agent's prompt where `claude` is started from (an empty prompt means interactive). */
export async function provisionPrompt(engine: DockerEngine, agent: string, prompt: string): Promise<void> {
  if (!prompt) return;
  await engine.containerCopyIn(agent, "/", [
    { path: AGENT_PROMPT_FILE.slice(1), content: `${prompt}\n`, mode: 0o644, uid: 1000, gid: 1000 },
  ]);
}
