/**
 * The sidecar bundle exactly as the sidecar image carries it: staged by the same code, into the
 * same build context, as `claude-bottle images build` (a checkout bundles src/, an installed
 * package copies dist/). Host-side sidecar tests run this file, never the TypeScript sources.
 */
import { join } from "node:path";
import { defaultStageDir, stageSidecarBundle } from "../../src/backend/docker/images.ts";

let staged: Promise<string> | undefined;

export function shippedSidecarBundle(): Promise<string> {
  staged ??= (async () => {
    const context = join(defaultStageDir(process.env), "sidecar");
    await stageSidecarBundle(context);
    return join(context, "sidecar.js");
  })();
  return staged;
}
