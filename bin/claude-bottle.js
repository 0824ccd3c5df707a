#!/usr/bin/env node
// In a source checkout Node runs the TypeScript directly (type stripping); an installed
// package runs the esbuild bundle, because Node refuses to strip types under node_modules.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/main.ts", import.meta.url);
const bundle = new URL("../dist/claude-bottle.js", import.meta.url);
await import(existsSync(source) && !source.pathname.includes("/node_modules/") ? source.href : bundle.href);
