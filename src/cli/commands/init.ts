import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { DEFAULT_AGENT_TEXT, defaultBottleText } from "../../manifest/defaults.ts";
import { manifestDirs } from "../../manifest/paths.ts";
import { type CliContext, processContext } from "../context.ts";

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("Write the built-in default agent and bottle out as files to edit")
    .action(() => init(processContext()));
}

/** Never overwrites: an existing file is kept and reported. */
export function init(context: CliContext): void {
  const dirs = manifestDirs(context.env, context.cwd);
  const files = [
    { path: join(dirs.homeBottles, "default.md"), text: defaultBottleText(context.env) },
    { path: join(dirs.homeAgents, "default.md"), text: DEFAULT_AGENT_TEXT },
  ];
  for (const { path, text } of files) {
    if (existsSync(path)) {
      context.stdout.write(`kept ${path} (already exists)\n`);
      continue;
    }
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    context.stdout.write(`wrote ${path}\n`);
  }
}
