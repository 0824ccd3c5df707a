import { parseSshGitUrl } from "../../../lib/git-url.ts";
import type { PlannedGitRemote } from "../../../plan/bottle-plan.ts";
import { AGENT_HOME, AGENT_USER } from "../agent-env.ts";
import type { DockerEngine } from "../engine/engine.ts";

/**
 * The spellings of an upstream URL that the agent's git rewrites to the gate: the manifest's own
 * and, for port 22, the other SSH form (`git@host:path` ⇄ `ssh://git@host/path`). Only exact
 * spellings: insteadOf matches prefixes, so a shorter form (without `.git`) would also capture
 * other repositories whose names start alike.
 */
export function upstreamSpellings(remote: Pick<PlannedGitRemote, "upstream">): string[] {
  const parsed = parseSshGitUrl(remote.upstream);
  const spellings = [remote.upstream];
  if (parsed && parsed.port === 22 && !parsed.host.includes(":")) {
    const path = parsed.path.replace(/^\//, "");
    spellings.push(`${parsed.user}@${parsed.host}:${path}`, `ssh://${parsed.user}@${parsed.host}/${path}`);
  }
  return [...new Set(spellings)];
}

/** `git config --global` argv lists that point each upstream at its gate URL. Pure. */
export function gitConfigCommands(
  remotes: readonly Pick<PlannedGitRemote, "upstream" | "gateUrl">[],
): string[][] {
  const commands: string[][] = [];
  for (const remote of remotes) {
    const key = `url.${remote.gateUrl}.insteadOf`;
    // Idempotent: a re-provision replaces the values instead of stacking duplicates.
    commands.push(["git", "config", "--global", "--unset-all", key]);
    for (const spelling of upstreamSpellings(remote)) {
      commands.push(["git", "config", "--global", "--add", key, spelling]);
    }
  }
  return commands;
}

/**
 * Writes the rewrites into the agent's ~/.gitconfig with git itself, as the agent user, so later
 * steps (cred-proxy's rewrites) edit the same file the same way.
 */
export async function provisionGitRemotes(
  engine: DockerEngine,
  agent: string,
  remotes: readonly Pick<PlannedGitRemote, "upstream" | "gateUrl">[],
): Promise<void> {
  for (const command of gitConfigCommands(remotes)) {
    const unset = command.includes("--unset-all");
    const result = await engine.containerExec(agent, command, {
      user: AGENT_USER,
      env: { HOME: AGENT_HOME },
    });
    // `--unset-all` of a key that is not there exits 5: nothing to replace.
    if (result.exitCode !== 0 && !(unset && result.exitCode === 5)) {
      throw new Error(`git config in the agent failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
  }
}
