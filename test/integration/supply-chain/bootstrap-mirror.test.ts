/**
 * scripts/bootstrap-base-image.sh against a tampered Debian mirror. The mirror is built here and
 * served on 127.0.0.1 (no traffic leaves the machine): a few fake .debs made with dpkg-deb, a
 * Packages index, and a Release signed with a throwaway key. The script runs with a throwaway
 * IMAGE tag; nothing may be imported in the failing cases, and the real base image is never
 * touched.
 *
 * Needs root (debootstrap), debootstrap, gpg, gpgv, dpkg-deb and wget, and a Docker engine (the
 * script asks `docker info` first). Without them the tests skip, unless
 * CLAUDE_BOTTLE_REQUIRE_DOCKER=1, where the file fails.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { connectDocker } from "../docker/engine-available.ts";

const SCRIPT = fileURLToPath(new URL("../../../scripts/bootstrap-base-image.sh", import.meta.url));
const TOOLS = ["debootstrap", "gpg", "gpgv", "dpkg-deb", "wget"];

const docker = await connectDocker();
const skip = docker.skip || missingPrerequisite();
const { engine } = docker;

function missingPrerequisite(): string | false {
  let reason: string | undefined;
  if (process.getuid?.() !== 0) reason = "debootstrap needs root";
  const missing = TOOLS.filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
  if (reason === undefined && missing.length > 0) reason = `missing ${missing.join(", ")}`;
  if (reason === undefined) return false;
  if (process.env.CLAUDE_BOTTLE_REQUIRE_DOCKER === "1") {
    throw new Error(`CLAUDE_BOTTLE_REQUIRE_DOCKER=1 but ${reason}`);
  }
  return `${reason} (CLAUDE_BOTTLE_REQUIRE_DOCKER=1 makes this fail)`;
}

const ARCH =
  skip === false ? execFileSync("dpkg", ["--print-architecture"], { encoding: "utf8" }).trim() : "";
// What debootstrap --variant=minbase --include=ca-certificates asks for on bookworm: every
// Priority: required package, apt, usr-is-merged and the included one.
const PACKAGES = ["base-files", "libc6", "usr-is-merged", "apt", "ca-certificates"];

interface ScriptRun {
  status: number | null;
  stderr: string;
  /** Paths the mirror served during the run. */
  requests: string[];
}

describe("bootstrap-base-image.sh against a tampered local mirror", { skip, timeout: 600_000 }, () => {
  const tag = `claude-bottle-test/base:mirror-${process.pid}`;
  let work = "";
  let testKeyring = "";
  let server: Server;
  let port = 0;
  let requests: string[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "claude-bottle-mirror-"));
    const gnupg = join(work, "gnupg");
    await mkdir(gnupg, { mode: 0o700 });
    const gpg = (...args: string[]) =>
      execFileSync("gpg", ["--batch", "--quiet", "--homedir", gnupg, ...args], { stdio: "pipe" });
    gpg("--passphrase", "", "--quick-gen-key", "claude-bottle test mirror <mirror@test.invalid>", "ed25519");
    testKeyring = join(work, "test-keyring.gpg");
    await writeFile(testKeyring, gpg("--export"));

    // good/: signed and intact. tampered/: the same, but one .deb changed after the index was written.
    for (const name of ["good", "tampered"]) {
      const root = join(work, name);
      const entries: string[] = [];
      for (const pkg of PACKAGES) entries.push(await buildDeb(root, pkg));
      const packages = `${entries.join("\n")}\n`;
      const index = join(root, "dists", "bookworm", "main", `binary-${ARCH}`);
      await mkdir(index, { recursive: true });
      await writeFile(join(index, "Packages"), packages);
      await writeFile(join(index, "Packages.gz"), gzipSync(packages));
      const release = join(root, "dists", "bookworm", "Release");
      await writeFile(release, await releaseFile(root));
      gpg("--clearsign", "--output", join(root, "dists", "bookworm", "InRelease"), release);
      gpg("--armor", "--detach-sign", "--output", `${release}.gpg`, release);
      if (name === "tampered") {
        // Same size, one byte different: only the hash can tell.
        const deb = join(root, "pool", "main", "b", "base-files", `base-files_1.0_${ARCH}.deb`);
        const bytes = await readFile(deb);
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        await writeFile(deb, bytes);
      }
    }

    server = createServer((request, response) => {
      const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
      requests.push(path);
      readFile(join(work, path))
        .then((body) => response.writeHead(200).end(body))
        .catch(() => response.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server?.close();
    // Only the throwaway tag, and only if a failing case imported it after all.
    if ((await engine.imageInspect(tag)) !== undefined) await engine.imageRemove(tag);
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  async function bootstrap(mirror: string, env: NodeJS.ProcessEnv = {}): Promise<ScriptRun> {
    requests = [];
    const child = spawn("bash", [SCRIPT], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        IMAGE: tag,
        MIRROR: `http://127.0.0.1:${port}/${mirror}`,
        SECURITY_MIRROR: `http://127.0.0.1:${port}/security`,
        // Should the script ever get past debootstrap, npm stays on loopback too.
        npm_config_registry: "http://127.0.0.1:9/",
        npm_config_offline: "true",
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(timer);
    assert.equal(await engine.imageInspect(tag), undefined, `nothing may be imported:\n${stderr}`);
    return { status, stderr, requests: [...requests] };
  }

  test("a mirror not signed by Debian is refused with the real keyring before any package is fetched", async () => {
    const run = await bootstrap("good");
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /Release signed by unknown key/);
    assert.match(run.stderr, /refused .*: the Release signature is not valid for the keyring/);
    assert.ok(run.requests.includes("/good/dists/bookworm/InRelease"), run.requests.join(" "));
    assert.deepEqual(
      run.requests.filter((path) => !path.endsWith("Release") && !path.endsWith("Release.gpg")),
      [],
      "no index or package is fetched after a bad signature",
    );
  });

  test("a .deb changed after the signed index was written is refused on its hash", async () => {
    const run = await bootstrap("tampered", { KEYRING: testKeyring });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /verified: Valid Release signature/);
    assert.match(run.stderr, /base-files_1\.0_.*was corrupt/);
    assert.match(run.stderr, /refused .*: a downloaded file does not match its SHA256/);
  });

  test("control: the same mirror, untampered and signed by the given key, passes every check", async () => {
    const run = await bootstrap("good", { KEYRING: testKeyring });
    // The fake packages are no system, so debootstrap stops once it runs something in the
    // rootfs; every signature and hash check is behind it by then.
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /verified: Valid Release signature \(key id [0-9A-F]+\); \d+ downloads checked/);
    assert.match(
      run.stderr,
      /I: Extracting usr-is-merged/,
      "debootstrap went on to unpack the verified packages",
    );
    assert.doesNotMatch(run.stderr, /refused|was corrupt|Retrying/);
    for (const pkg of PACKAGES) {
      assert.ok(
        run.requests.includes(`/good/pool/main/${pkg[0]}/${pkg}/${pkg}_1.0_${ARCH}.deb`),
        `${pkg} fetched`,
      );
    }
    assert.ok(
      run.requests.every((path) => path.startsWith("/good/")),
      run.requests.join(" "),
    );
  });

  test("without gpgv on the PATH the script refuses to start", async () => {
    // Every host command but gpgv.
    const bin = join(work, "bin-without-gpgv");
    await mkdir(bin, { recursive: true });
    for (const dir of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
      if (!existsSync(dir)) continue;
      for (const name of await readdir(dir)) {
        if (name === "gpgv" || existsSync(join(bin, name))) continue;
        await symlink(join(dir, name), join(bin, name));
      }
    }
    const run = await bootstrap("good", { PATH: bin, KEYRING: testKeyring });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /gpgv is needed to verify the Debian mirror's signatures/);
    assert.deepEqual(run.requests, []);
  });
});

/** Builds pool/main/<p>/<pkg>/<pkg>_1.0_<arch>.deb under root; returns its Packages stanza. */
async function buildDeb(root: string, pkg: string): Promise<string> {
  const tree = join(root, "build", pkg);
  await mkdir(join(tree, "DEBIAN"), { recursive: true });
  await mkdir(join(tree, "usr", "share", "claude-bottle-test"), { recursive: true });
  await writeFile(join(tree, "usr", "share", "claude-bottle-test", pkg), `${pkg}\n`);
  const control = [
    `Package: ${pkg}`,
    "Version: 1.0",
    `Architecture: ${ARCH}`,
    "Maintainer: claude-bottle tests <mirror@test.invalid>",
    "Priority: required",
    "Essential: yes",
    "Section: admin",
    `Description: fake ${pkg} for a tampered-mirror test`,
  ];
  await writeFile(join(tree, "DEBIAN", "control"), `${control.join("\n")}\n`);
  const filename = `pool/main/${pkg[0]}/${pkg}/${pkg}_1.0_${ARCH}.deb`;
  await mkdir(dirname(join(root, filename)), { recursive: true });
  execFileSync("dpkg-deb", ["--root-owner-group", "--build", tree, join(root, filename)], { stdio: "pipe" });
  await rm(join(root, "build"), { recursive: true, force: true });
  const bytes = await readFile(join(root, filename));
  return [
    ...control,
    `Filename: ${filename}`,
    `Size: ${bytes.length}`,
    `MD5sum: ${createHash("md5").update(bytes).digest("hex")}`,
    `SHA256: ${createHash("sha256").update(bytes).digest("hex")}`,
    "",
  ].join("\n");
}

async function releaseFile(root: string): Promise<string> {
  const lines = [
    "Origin: claude-bottle test",
    "Label: claude-bottle test",
    "Suite: stable",
    "Codename: bookworm",
    `Date: ${new Date().toUTCString()}`,
    `Architectures: ${ARCH}`,
    "Components: main",
    "SHA256:",
  ];
  for (const file of ["Packages", "Packages.gz"]) {
    const path = `main/binary-${ARCH}/${file}`;
    const bytes = await readFile(join(root, "dists", "bookworm", path));
    lines.push(` ${createHash("sha256").update(bytes).digest("hex")} ${bytes.length} ${path}`);
  }
  return `${lines.join("\n")}\n`;
}
