import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ManifestError } from "../manifest/errors.ts";
import { type AgentManifest, ManifestCatalog } from "../manifest/loader.ts";
import { type BottlePlan, buildPlan } from "./bottle-plan.ts";

/** What planning needs of its caller: the environment, the directory, and where warnings go. */
export interface PlanContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A manifest ignored (a link, a bad name): one line, not yet made terminal-safe. */
  warn: (message: string) => void;
}

/** Finds manifests and reports anything ignored to `context.warn`. */
export function openCatalog(context: PlanContext): ManifestCatalog {
  const catalog = new ManifestCatalog({ env: context.env, cwd: context.cwd });
  for (const warning of catalog.warnings) context.warn(warning);
  return catalog;
}

/** Loads an agent and its bottle and builds the plan: everything `start` will do, no side effect. */
export function planFor(
  context: PlanContext,
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
