import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { CliDockerEngine } from "../../backend/docker/engine/cli.ts";
import type { DockerEngine } from "../../backend/docker/engine/engine.ts";
import {
  defaultStageDir,
  ensureImages,
  IMAGE_NAMES,
  type ImageName,
  packageRoot,
  resolveBase,
} from "../../backend/docker/images.ts";
import { UserError } from "../../lib/user-error.ts";

interface BuildFlags {
  force?: boolean;
  base?: string;
  quiet?: boolean;
}

export function registerImagesCommand(program: Command): void {
  const images = program.command("images").description("Build the Docker images bottles run");
  images
    .command("build")
    .description("Build the sidecar and agent images when missing or stale (their inputs changed)")
    .argument("[names...]", `images to build: ${IMAGE_NAMES.join(", ")} (default: all)`)
    .option("--force", "rebuild even when the images are current")
    .option(
      "--base <image>",
      "base image (default: claude-bottle/base:bookworm-node24 if present, else node:24.21.0-bookworm-slim pinned by digest)",
    )
    .option("--quiet", "hide docker build output")
    .action((names: string[], flags: BuildFlags) => buildImages(new CliDockerEngine(), names, flags));
  images
    .command("bootstrap-offline")
    .description("Build the base image without a registry (debootstrap + Node from npm); needs root")
    .option("--force", "rebuild even when the base image is current")
    .action((flags: { force?: boolean }) => bootstrapOffline(flags));
}

async function buildImages(engine: DockerEngine, names: readonly string[], flags: BuildFlags): Promise<void> {
  const unknown = names.filter((name) => !IMAGE_NAMES.includes(name as ImageName));
  if (unknown.length > 0) {
    throw new UserError(`unknown image ${unknown.join(", ")}; known: ${IMAGE_NAMES.join(", ")}`);
  }
  await requireEngine(engine);
  const base = await resolveBase(flags.base === undefined ? { engine } : { engine, base: flags.base });
  const selected = names.length === 0 ? IMAGE_NAMES : (names as ImageName[]);
  const results = await ensureImages(selected, {
    engine,
    base,
    stageDir: defaultStageDir(process.env),
    force: flags.force === true,
    progress: flags.quiet === true ? null : process.stderr,
  });
  for (const image of results) {
    const state = image.built ? `built in ${image.seconds} s` : "up to date";
    process.stdout.write(`${image.tag}  ${image.id.slice(7, 19)}  ${state}\n`);
  }
}

async function requireEngine(engine: DockerEngine): Promise<void> {
  try {
    await engine.info();
  } catch (error) {
    throw new UserError("no Docker engine answers; start Docker (as root: scripts/docker-up.sh) and retry", {
      cause: error,
      exitCode: 1,
      code: "E_NO_ENGINE",
    });
  }
}

async function bootstrapOffline(flags: { force?: boolean }): Promise<void> {
  const script = join(packageRoot(), "scripts", "bootstrap-base-image.sh");
  if (!existsSync(script)) {
    throw new UserError(
      `${script} is missing: bootstrap-offline runs from a source checkout of claude-bottle`,
    );
  }
  const env = flags.force === true ? { ...process.env, FORCE: "1" } : process.env;
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn("bash", [script], { stdio: "inherit", env });
    child.on("error", reject);
    child.on("close", (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`${script} failed with exit code ${code}`);
}
