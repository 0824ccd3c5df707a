/**
 * The images a bottle runs: the sidecar image (every sidecar program in one bundle, the first
 * argument picks the role) and the agent image (the Claude Code CLI). Each build context is
 * staged under the cache dir with exactly the inputs the Dockerfile copies, and the image is
 * labelled with a hash of those inputs: `ensureImage` builds when the image is missing or its
 * label differs, and otherwise costs one `docker image inspect`.
 *
 * Inputs of the hash: the Dockerfile, the base image (reference and local id, so rebuilding the
 * offline base rebuilds these), and per image the sidecar bundle's bytes or the pinned Claude
 * Code version with its tarball's sha512 and its binary's sha256. The agent's 400 MB binary is
 * fetched on the host (containers cannot reach npm) only when a build is needed, and checked
 * against both digests before it enters the context (claude-code.ts).
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bottleHome, homeLayout } from "../../lib/home-layout.ts";
import { UserError } from "../../lib/user-error.ts";

import { type ClaudeCodePin, type FetchTarball, stageClaudeCode } from "./claude-code.ts";
import type { DockerEngine } from "./engine/engine.ts";
import { LABEL_INPUTS_HASH } from "./engine/engine.ts";

export type ImageName = "sidecar" | "agent" | "git-upstream";
export const IMAGE_NAMES: readonly ImageName[] = ["sidecar", "agent"];

export const DEFAULT_TAGS: Readonly<Record<ImageName, string>> = {
  sidecar: "claude-bottle/sidecar:latest",
  agent: "claude-bottle/agent:latest",
  // A real sshd + git upstream, only for `claude-bottle demo` (and git-gate's tests).
  "git-upstream": "claude-bottle/git-upstream:latest",
};
/** The agent image of one bottle after an approved capability (supervise): removed with it. */
export function capabilityImageTag(instance: string): string {
  return `claude-bottle/agent:${instance}`;
}
/** Built by scripts/bootstrap-base-image.sh where no registry is reachable. */
export const OFFLINE_BASE = "claude-bottle/base:bookworm-node24";
/**
 * The public Node image, pinned by the digest of its multi-platform index, so a re-pushed tag
 * cannot change what bottles run on. Source: docker-library/repo-info,
 * repos/node/remote/24.21.0-bookworm-slim.md (Node 24.21.0, like the offline base). Keep the
 * Dockerfiles' default BASE equal to it (a unit test checks).
 */
export const ONLINE_BASE =
  "node:24.21.0-bookworm-slim@sha256:2fe369e969550cde8e867afc3fe370b260140cab4a23d467074295b42163d553";
/** Pinned exactly; bumping it rebuilds the agent image. */
export const CLAUDE_CODE_VERSION = "2.1.332";
/**
 * What the agent's binary must be. Bump with the version: integrity from
 * `npm view @anthropic-ai/claude-code-linux-x64@<version> dist.integrity`, the sha256 of
 * `package/claude` in that tarball (`npm pack`, check its sha512, `tar -xzf ... package/claude`,
 * `sha256sum`).
 */
export const CLAUDE_CODE: ClaudeCodePin = {
  package: "@anthropic-ai/claude-code-linux-x64",
  version: CLAUDE_CODE_VERSION,
  integrity:
    "sha512-f4JWhzwYutJIHScC7/dYOPX6s28tt7ZADhsOi8zwOHq5fFPEuUeChh2NMfinSg0GrUckYxaeebC4h0DqiKzLcw==",
  binarySha256: "a2df1f41bb00250992926420d0063f89b127cb81abdd284dbefb80c50ff1d026",
};

export interface ImageOptions {
  engine: DockerEngine;
  /** Parent of the staged build contexts, e.g. ~/.claude-bottle/cache/images. */
  stageDir: string;
  /** Base image; default OFFLINE_BASE when it exists locally, else ONLINE_BASE. */
  base?: string;
  /** Tag overrides (tests use their own). */
  tags?: Partial<Record<ImageName, string>>;
  /** Build even when the image is current. */
  force?: boolean;
  /** One line per step ("building ...", "up to date"); default: stderr. */
  log?: (line: string) => void;
  /** Where `docker build` output streams; default process.stderr, null for silence. */
  progress?: Writable | null;
  /** The agent's Claude Code pin and how its tarball is fetched; default CLAUDE_CODE, npm pack (tests swap both). */
  claudeCode?: { pin: ClaudeCodePin; fetchTarball?: FetchTarball };
}

export interface EnsuredImage {
  name: ImageName;
  tag: string;
  id: string;
  inputsHash: string;
  /** False when the existing image was current and reused. */
  built: boolean;
  /** Seconds: of the build when built, else of the check. */
  seconds: number;
}

/**
 * Ensures each image: the checks (staging, hashing, one inspect each) run side by side, the builds
 * one after another (in parallel they only contend for the engine).
 */
export async function ensureImages(
  names: readonly ImageName[],
  options: ImageOptions,
): Promise<EnsuredImage[]> {
  const started = performance.now();
  const base = await resolveBaseImage(options);
  const checked = await Promise.all(names.map((name) => checkImage(name, options, base)));
  const results: EnsuredImage[] = [];
  for (const image of checked) results.push(await buildIfStale(image, options, base, started));
  return results;
}

export async function ensureImage(name: ImageName, options: ImageOptions): Promise<EnsuredImage> {
  const [image] = await ensureImages([name], options);
  return image!;
}

/** A base image reference and its local id (absent when only a registry has it). */
interface BaseImage {
  ref: string;
  id: string | undefined;
}

interface CheckedImage {
  name: ImageName;
  tag: string;
  context: string;
  inputsHash: string;
  existing: Awaited<ReturnType<DockerEngine["imageInspect"]>>;
}

/** Stages the build context of one image and hashes its inputs; inspects the current image. */
async function checkImage(name: ImageName, options: ImageOptions, base: BaseImage): Promise<CheckedImage> {
  const tag = options.tags?.[name] ?? DEFAULT_TAGS[name];
  const context = join(options.stageDir, name);
  await mkdir(context, { recursive: true });

  const hash = createHash("sha256");
  hashField(hash, "image", name);
  // Every file of images/<name>/ is part of the context and of the hash.
  const sources = join(packageRoot(), "images", name);
  for (const file of (await readdir(sources)).sort()) {
    hashField(hash, `file:${file}`, await readFile(join(sources, file)));
    await copyFile(join(sources, file), join(context, file));
  }
  hashField(hash, "base", `${base.ref}@${base.id ?? "remote"}`);
  if (name === "sidecar") {
    hashField(hash, "sidecar.js", await stageSidecarBundle(context));
  } else if (name === "agent") {
    // The binary's digest, not only its version: the build checks the staged binary against it.
    hashField(hash, "claude-code", claudeCodeInput(options.claudeCode?.pin ?? CLAUDE_CODE));
  }
  const inputsHash = hash.digest("hex");
  return { name, tag, context, inputsHash, existing: await options.engine.imageInspect(tag) };
}

async function buildIfStale(
  image: CheckedImage,
  options: ImageOptions,
  base: BaseImage,
  started: number,
): Promise<EnsuredImage> {
  const log = options.log ?? ((line: string) => process.stderr.write(`claude-bottle: ${line}\n`));
  const { engine } = options;
  const { name, tag, context, inputsHash, existing } = image;
  const seconds = (since = started) => Math.round((performance.now() - since) / 100) / 10;
  if (existing !== undefined && existing.labels[LABEL_INPUTS_HASH] === inputsHash && options.force !== true) {
    return { name, tag, id: existing.id, inputsHash, built: false, seconds: seconds() };
  }
  const why = existing === undefined ? "missing" : options.force === true ? "forced" : "inputs changed";
  const buildStarted = performance.now();
  log(`building ${tag} (${why}; inputs ${inputsHash.slice(0, 12)}, base ${base.ref})`);
  if (name === "agent") {
    const { pin = CLAUDE_CODE, fetchTarball } = options.claudeCode ?? {};
    await stageClaudeCode(context, pin, log, fetchTarball);
  }
  let id: string;
  try {
    id = await engine.build({
      context,
      tag,
      buildArgs: { BASE: base.ref },
      labels: { [LABEL_INPUTS_HASH]: inputsHash },
      progress: options.progress === undefined ? process.stderr : options.progress,
    });
  } catch (error) {
    if (base.id !== undefined) throw error;
    // The base was to be pulled: without registry access that is the usual first-run failure.
    throw new UserError(
      `cannot build ${tag}: the base image ${base.ref} is not on this engine and could not be pulled (no registry access?); build it offline with \`claude-bottle images bootstrap-offline\`, then retry`,
      { cause: error, exitCode: 1, code: "E_NO_BASE_IMAGE" },
    );
  }
  if (
    existing !== undefined &&
    existing.id !== id &&
    (await engine.imageInspect(existing.id))?.tags.length === 0
  ) {
    // The previous build is now dangling; drop it unless a container or a child image uses it.
    await engine.imageRemove(existing.id).catch(() => {});
  }
  log(`built ${tag} in ${seconds(buildStarted)} s`);
  return { name, tag, id, inputsHash, built: true, seconds: seconds(buildStarted) };
}

/** The offline base when it was bootstrapped here, else the public one. */
export async function resolveBase(options: Pick<ImageOptions, "engine" | "base">): Promise<string> {
  return (await resolveBaseImage(options)).ref;
}

async function resolveBaseImage(options: Pick<ImageOptions, "engine" | "base">): Promise<BaseImage> {
  const candidates = options.base !== undefined ? [options.base] : [OFFLINE_BASE, ONLINE_BASE];
  for (const ref of candidates) {
    const image = await options.engine.imageInspect(ref);
    if (image !== undefined) return { ref, id: image.id };
  }
  return { ref: options.base ?? ONLINE_BASE, id: undefined };
}

function hashField(hash: ReturnType<typeof createHash>, name: string, value: string | Buffer): void {
  // Length-prefixed, so no two different field lists hash alike.
  const bytes = typeof value === "string" ? Buffer.from(value) : value;
  hash.update(`${name}:${bytes.length}:`).update(bytes).update("\n");
}

/**
 * The directory holding package.json, images/ and either src/ (a checkout, run by Node
 * directly) or dist/ (the bundle, where this module is dist/claude-bottle.js).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "images", "agent", "Dockerfile"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("claude-bottle: cannot find the images/ directory of the package");
    dir = parent;
  }
  return dir;
}

/** Bundles src/sidecars in a checkout, or copies the shipped dist/sidecar.js; returns its bytes. */
export async function stageSidecarBundle(context: string): Promise<Buffer> {
  await mkdir(context, { recursive: true });
  const root = packageRoot();
  const outfile = join(context, "sidecar.js");
  if (existsSync(join(root, "src", "sidecars", "main.ts")) && existsSync(join(root, "scripts", "build.ts"))) {
    // Bundling takes a few hundred ms, on every launch from a checkout; skip it while no source
    // file changed since the staged bundle was made (names, sizes and mtimes of src/ and the lock).
    const stamp = await sourceStamp(root);
    const stampFile = join(context, "sidecar.js.sources");
    if (existsSync(outfile) && (await readFile(stampFile, "utf8").catch(() => "")) === stamp)
      return readFile(outfile);
    // A variable specifier keeps esbuild from pulling the build script (and esbuild) into the CLI bundle.
    const buildScript = join(root, "scripts", "build.ts");
    const { bundleSidecar } = (await import(pathToFileURL(buildScript).href)) as {
      bundleSidecar: (outfile: string) => Promise<void>;
    };
    await bundleSidecar(outfile);
    await writeFile(stampFile, stamp);
  } else {
    await copyFile(join(root, "dist", "sidecar.js"), outfile);
  }
  return readFile(outfile);
}

async function sourceStamp(root: string): Promise<string> {
  const hash = createHash("sha256");
  // Bumped when the bundling itself changes (v2: paths relative to the package root, not the cwd).
  hash.update("bundle v2\n");
  const files = [
    join(root, "package-lock.json"),
    ...(await readdir(join(root, "src"), { recursive: true })).map((file) => join(root, "src", file)),
  ];
  for (const file of files.sort()) {
    const info = await stat(file);
    if (info.isFile()) hash.update(`${file}\0${info.size}\0${info.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

/** The agent image's hash input for Claude Code: package, version, tarball and binary digests. */
function claudeCodeInput(pin: ClaudeCodePin): string {
  return `${pin.package}@${pin.version} ${pin.integrity} sha256:${pin.binarySha256}`;
}

/** Default parent of the staged build contexts: `<CLAUDE_BOTTLE_HOME>/cache/images`. */
export function defaultStageDir(env: NodeJS.ProcessEnv): string {
  return homeLayout(bottleHome(env)).imageCache;
}
