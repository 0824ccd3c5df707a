import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type TextSink, terminalSafeSink, visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import { ManifestError } from "../manifest/errors.ts";
import { type AgentManifest, ManifestCatalog } from "../manifest/loader.ts";
import { type BottlePlan, buildPlan } from "../plan/bottle-plan.ts";

export interface CliContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: TextSink;
  stderr: TextSink;
}

/** The process's context; its output streams let no control character through but colours. */
export function processContext(): CliContext {
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    throw new UserError(
      "the current directory no longer exists (it was deleted or moved); cd to a directory and retry",
    );
  }
  return {
    env: process.env,
    cwd,
    stdout: terminalSafeSink(process.stdout),
    stderr: terminalSafeSink(process.stderr),
  };
}

/** Finds manifests and reports anything ignored on stderr. */
export function openCatalog(context: CliContext): ManifestCatalog {
  const catalog = new ManifestCatalog({ env: context.env, cwd: context.cwd });
  for (const warning of catalog.warnings)
    context.stderr.write(`claude-bottle: warning: ${visible(warning)}\n`);
  return catalog;
}

/** Loads an agent and its bottle and builds the plan: everything `start` will do, no side effect. */
export function planFor(
  context: CliContext,
  agentName: string,
  options: { allowMissing?: boolean } = {},
): BottlePlan {
  const catalog = openCatalog(context);
  const agent = catalog.agent(agentName);
  const bottle = catalog.bottle(agent.data.bottle);
  return buildPlan({
    agent,
    bottle,
    env: context.env,
    skills: resolveSkills(agent, catalog.dirs.skills),
    homeDir: homedir(),
    allowMissing: options.allowMissing === true,
  });
}

/** A skill is a directory under ~/.claude-bottle/skills/ or ~/.claude/skills/. */
function resolveSkills(agent: AgentManifest, bottleSkills: string): Record<string, string> {
  const found: Record<string, string> = {};
  agent.data.skills.forEach((name, index) => {
    const candidates = [join(bottleSkills, name), join(homedir(), ".claude", "skills", name)];
    const dir = candidates.find((candidate) => existsSync(join(candidate, "SKILL.md")));
    if (!dir) {
      throw new ManifestError(
        agent.locate(["skills", index]),
        `skill \`${name}\` not found: expected ${candidates.map((candidate) => join(candidate, "SKILL.md")).join(" or ")}`,
      );
    }
    found[name] = dir;
  });
  return found;
}
