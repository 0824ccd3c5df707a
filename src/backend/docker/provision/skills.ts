import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { UserError } from "../../../lib/user-error.ts";
import { AGENT_HOME } from "../agent-env.ts";
import type { DockerEngine, InMemoryFile } from "../engine/engine.ts";

/** A skill is a small directory of text; anything bigger is a mistake worth stopping for. */
const MAX_SKILL_BYTES = 8 * 1024 * 1024;

/** Copies each skill directory into the agent's ~/.claude/skills/<name>/. */
export async function provisionSkills(
  engine: DockerEngine,
  agent: string,
  skills: readonly { name: string; source: string }[],
): Promise<void> {
  const files = skills.flatMap((skill) => readSkill(skill.name, skill.source));
  if (files.length) await engine.containerCopyIn(agent, "/", files);
}

function readSkill(name: string, root: string): InMemoryFile[] {
  const files: InMemoryFile[] = [];
  let total = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        total += statSync(path).size;
        if (total > MAX_SKILL_BYTES)
          throw new UserError(
            `skill ${name} (${root}) is larger than ${MAX_SKILL_BYTES / 1024 / 1024} MiB; a skill should be a few text files`,
          );
        const target = `${AGENT_HOME}/.claude/skills/${name}/${relative(root, path)}`.slice(1);
        files.push({ path: target, content: readFileSync(path), mode: 0o644, uid: 1000, gid: 1000 });
      }
      // Symlinks and special files are skipped: they could point anywhere on the host.
    }
  };
  walk(root);
  return files;
}
