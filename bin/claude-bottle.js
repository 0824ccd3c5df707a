#!/usr/bin/env node
// In a source checkout Node runs the TypeScript directly (type stripping); an installed
// package runs the esbuild bundle, because Node refuses to strip types under node_modules.
import { existsSync } from "node:fs";
import module from "node:module";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

const source = new URL("../src/cli/main.ts", import.meta.url);
const bundle = new URL("../dist/claude-bottle.js", import.meta.url);
const fromSource = existsSync(source) && !source.pathname.includes("/node_modules/");
if (!fromSource) {
  // V8's code cache of the bundle takes ~20 ms off every command. It lives in the user's own
  // claude-bottle home (as src/lib/home-layout.ts finds it), not in a /tmp other users can write.
  const home = resolve(process.env.CLAUDE_BOTTLE_HOME || join(homedir(), ".claude-bottle"));
  module.enableCompileCache?.(join(home, "cache", "node-compile-cache"));
}
await import(fromSource ? source.href : bundle.href);
