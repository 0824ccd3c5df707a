import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where manifests and state live: `CLAUDE_BOTTLE_HOME`, else `~/.claude-bottle`. */
export function bottleHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.CLAUDE_BOTTLE_HOME || join(homedir(), ".claude-bottle"));
}

export interface ManifestDirs {
  home: string;
  homeBottles: string;
  homeAgents: string;
  projectAgents: string;
  /** A bottles dir inside a project: never read, because a repository must not widen its own sandbox. */
  projectBottles: string;
  skills: string;
}

export function manifestDirs(env: NodeJS.ProcessEnv, cwd: string): ManifestDirs {
  const home = bottleHome(env);
  const project = join(resolve(cwd), ".claude-bottle");
  return {
    home,
    homeBottles: join(home, "bottles"),
    homeAgents: join(home, "agents"),
    projectAgents: join(project, "agents"),
    projectBottles: join(project, "bottles"),
    skills: join(home, "skills"),
  };
}
