/**
 * Stages the Claude Code binary for the agent image, authenticated: the native package's tarball
 * must have the pinned sha512 (the registry's `dist.integrity`) before anything is extracted from
 * it, and the extracted `claude` binary the pinned sha256. Either mismatch stops the build; the
 * registry, a proxy or the npm cache cannot swap the binary that runs in every bottle.
 */

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { chmod, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { UserError } from "../../lib/user-error.ts";

export interface ClaudeCodePin {
  /** The platform package holding the binary, e.g. @anthropic-ai/claude-code-linux-x64. */
  package: string;
  version: string;
  /** The tarball's SRI sha512 (`npm view <package>@<version> dist.integrity`). */
  integrity: string;
  /** Hex sha256 of `package/claude` in that tarball. */
  binarySha256: string;
}

/** Fetches `<package>@<version>`'s tarball into dir; returns its path. */
export type FetchTarball = (pin: ClaudeCodePin, dir: string) => Promise<string>;

/** Where the binary lands in the build context (the Dockerfile copies it from here). */
export const STAGED_BINARY = join("claude-code", "claude");

async function fileDigest(file: string, algorithm: "sha256" | "sha512"): Promise<Buffer> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(file), hash);
  return hash.digest();
}

/** The SRI string npm records for a tarball: `sha512-<base64>`. */
async function sriSha512(file: string): Promise<string> {
  return `sha512-${(await fileDigest(file, "sha512")).toString("base64")}`;
}

/**
 * Puts the pinned, verified binary at `<context>/claude-code/claude` and returns its sha256.
 * A binary already staged there with the pinned digest is reused without a download.
 */
export async function stageClaudeCode(
  context: string,
  pin: ClaudeCodePin,
  log: (line: string) => void,
  fetchTarball: FetchTarball = npmPack,
): Promise<string> {
  const name = `${pin.package.replace(/^@[^/]+\//, "")}@${pin.version}`;
  const binary = join(context, STAGED_BINARY);
  // The npm install of earlier versions; it would only bloat the build context.
  await rm(join(context, "npm"), { recursive: true, force: true });
  if (existsSync(binary) && (await fileDigest(binary, "sha256")).toString("hex") === pin.binarySha256) {
    log(`${name}: staged binary sha256 ${pin.binarySha256} verified`);
    return pin.binarySha256;
  }
  await rm(join(context, "claude-code"), { recursive: true, force: true });
  const download = join(context, "claude-code", "download");
  await mkdir(download, { recursive: true });
  try {
    log(`fetching ${pin.package}@${pin.version} with npm (about 190 MB)`);
    const tarball = await fetchTarball(pin, download);
    const integrity = await sriSha512(tarball);
    if (integrity !== pin.integrity) {
      throw new UserError(
        `refusing ${pin.package}@${pin.version}: its tarball has ${integrity}, not the pinned ${pin.integrity} (the registry, a proxy or the npm cache served other bytes)`,
        { exitCode: 1, code: "E_INTEGRITY" },
      );
    }
    // Extracted only once the tarball is authenticated.
    await promisify(execFile)("tar", ["-xzf", tarball, "-C", download, "package/claude"]).catch(
      (error: unknown) => {
        throw new Error(`cannot extract package/claude from ${pin.package}@${pin.version}: ${String(error)}`);
      },
    );
    const extracted = join(download, "package", "claude");
    const sha256 = (await fileDigest(extracted, "sha256")).toString("hex");
    if (sha256 !== pin.binarySha256) {
      throw new UserError(
        `refusing ${pin.package}@${pin.version}: its claude binary has sha256 ${sha256}, not the pinned ${pin.binarySha256}`,
        { exitCode: 1, code: "E_INTEGRITY" },
      );
    }
    await chmod(extracted, 0o755);
    await rename(extracted, binary);
    log(`${name}: sha512 verified, binary sha256 ${sha256}`);
    return sha256;
  } finally {
    await rm(download, { recursive: true, force: true });
  }
}

/**
 * `npm pack` of the exact version: no install, no scripts, only the tarball. npm never asks
 * anything here (stdin closed) and gets a generous but finite time: a stalled registry must fail
 * the build with a message, not hang a launch or a CI run.
 */
const npmPack: FetchTarball = async (pin, dir) => {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const pack = promisify(execFile)(
    npm,
    ["pack", "--silent", "--ignore-scripts", "--pack-destination", dir, `${pin.package}@${pin.version}`],
    { maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000, killSignal: "SIGKILL" },
  );
  pack.child.stdin?.end();
  await pack.catch((error: unknown) => {
    throw new Error(
      `npm could not fetch ${pin.package}@${pin.version} within 15 minutes or failed (is the npm registry reachable from this host?): ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
    );
  });
  const tarballs = (await readdir(dir)).filter((file) => file.endsWith(".tgz"));
  if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs in ${dir}`);
  return join(dir, tarballs[0]!);
};
