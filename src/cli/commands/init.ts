import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { UserError } from "../../lib/user-error.ts";
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
function init(context: CliContext): void {
  const dirs = manifestDirs(context.env, context.cwd);
  const files = [
    { path: join(dirs.homeBottles, "default.md"), text: defaultBottleText() },
    { path: join(dirs.homeAgents, "default.md"), text: DEFAULT_AGENT_TEXT },
  ];
  for (const { path, text } of files) {
    if (existsSync(path)) {
      context.stdout.write(`kept ${path} (already exists)\n`);
      continue;
    }
    makeDirs(dirname(path));
    try {
      writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    } catch (error) {
      throw new UserError(
        `cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}); set CLAUDE_BOTTLE_HOME to a directory you can write`,
      );
    }
    context.stdout.write(`wrote ${path}\n`);
  }
}

/**
 * Creates `dir` and its missing parents one at a time. Node's recursive mkdir loops forever on
 * some paths (under /proc, say); a home that cannot be made is one clear error.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let current = dir; !existsSync(current); current = dirname(current)) {
    if (dirname(current) === current) break;
    missing.unshift(current);
  }
  for (const part of missing) {
    try {
      mkdirSync(part, { mode: 0o700 });
    } catch (error) {
      throw new UserError(
        `cannot create ${part} (${(error as NodeJS.ErrnoException).code ?? "error"}); set CLAUDE_BOTTLE_HOME to a directory you can write`,
      );
    }
  }
}
