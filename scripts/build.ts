/**
 * Bundles the CLI (dist/claude-bottle.js) and every sidecar program (dist/sidecar.js) with
 * esbuild: one ESM file each for Node, dependencies included. `npm run build`; the images
 * module calls `bundleSidecar` too, to stage the sidecar image from a source checkout.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Some dependencies are CommonJS and call require(); an ESM bundle has none unless we make one. */
const banner = {
  js: 'import { createRequire as __claudeBottleCreateRequire } from "node:module"; const require = __claudeBottleCreateRequire(import.meta.url);',
};

async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    banner,
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
