import { join } from "node:path";
import { bottleHome, homeLayout, projectDir } from "../lib/home-layout.ts";

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
  const layout = homeLayout(home);
  const project = projectDir(cwd);
  return {
    home,
    homeBottles: layout.bottles,
    homeAgents: layout.agents,
    projectAgents: join(project, "agents"),
    projectBottles: join(project, "bottles"),
    skills: layout.skills,
  };
}
