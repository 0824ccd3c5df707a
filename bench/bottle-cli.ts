// What the bottle benchmarks share: the CLI as users run it (the esbuild bundle, built now from
// the current source), a throwaway CLAUDE_BOTTLE_HOME holding the given manifests, and timing.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchCli {
  /** Runs the bundled CLI in the bench home; its stdout, trimmed. */
  cli(...args: string[]): string;
  /** Removes the bench home. */
  remove(): void;
}

/** `manifests`: path under the home (e.g. `bottles/x.md`) → frontmatter YAML. */
export async function benchCli(name: string, manifests: Record<string, string>): Promise<BenchCli> {
  const bin = fileURLToPath(new URL("../dist/claude-bottle.js", import.meta.url));
  const { bundleCli } = (await import("../scripts/build.ts")) as {
    bundleCli: (outfile?: string) => Promise<void>;
  };
  await bundleCli(bin);
  const home = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  mkdirSync(join(home, "bottles"));
  mkdirSync(join(home, "agents"));
  for (const [path, frontmatter] of Object.entries(manifests)) {
    writeFileSync(join(home, path), `---\n${frontmatter}---\n`);
  }
  // The code cache an installed bin keeps in the claude-bottle home (bin/claude-bottle.js).
  const env = {
    ...process.env,
    CLAUDE_BOTTLE_HOME: home,
    NO_COLOR: "1",
    NODE_COMPILE_CACHE: join(home, "cache", "node-compile-cache"),
  };
  return {
    cli: (...args) =>
      execFileSync(process.execPath, [bin, ...args], {
        env,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

export const docker = (...args: string[]): string =>
  execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

/** Milliseconds `action` took. */
export function timed(action: () => void): number {
  const started = process.hrtime.bigint();
  action();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
