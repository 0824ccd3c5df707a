/**
 * Bundles the CLI (dist/claude-bottle.js) and every sidecar program (dist/sidecar.js) with
 * esbuild: one ESM file each for Node, dependencies included. `npm run build`; the images
 * module calls `bundleSidecar` too, to stage the sidecar image from a source checkout.
 */

import { builtinModules } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Some dependencies are CommonJS and call require(); an ESM bundle has none unless we make one. */
const banner = {
  js: 'import { createRequire as __claudeBottleCreateRequire } from "node:module"; const require = __claudeBottleCreateRequire(import.meta.url);',
};

/**
 * Node's built-in modules through `require`: an ESM `import` of one makes Node build a facade that
 * reads every export, and reading `node:http`'s lazy ones loads undici, ~15 ms of every start.
 */
const builtinsByRequire: Plugin = {
  name: "builtins-by-require",
  setup(build) {
    const names = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    build.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!names.has(args.path)) return undefined;
      // The require inside the stand-in module is the real one.
      if (args.namespace === "builtin") return { path: args.path, external: true };
      return { path: args.path, namespace: "builtin" };
    });
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    // esbuild writes each module's path relative to the working directory into the bundle (as a
    // `// src/...` comment): relative to the package root, the bytes, and so the sidecar image's
    // inputs hash, are the same from whatever directory the CLI runs.
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    banner,
    plugins: [builtinsByRequire],
    legalComments: "linked",
    sourcemap: false,
    logLevel: "warning",
  });
}

export function bundleCli(outfile = join(root, "dist", "claude-bottle.js")): Promise<void> {
  return bundle("src/cli/main.ts", outfile);
}

export function bundleSidecar(outfile = join(root, "dist", "sidecar.js")): Promise<void> {
  return bundle("src/sidecars/main.ts", outfile);
}

if (import.meta.main) {
  const started = performance.now();
  await Promise.all([bundleCli(), bundleSidecar()]);
  process.stderr.write(
    `build: dist/claude-bottle.js, dist/sidecar.js in ${Math.round(performance.now() - started)} ms\n`,
  );
}
