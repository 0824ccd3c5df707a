/**
 * A second Docker engine that can cap a container's disk (`--storage-opt size=`, the bottle's
 * `limits.disk`), which the machine's engine (overlay2 on ext4) cannot. Its data-root is a
 * filesystem of its own: a sparse file under a temp dir, formatted and loop-mounted, with the
 * engine (test/helpers/second-engine.ts) in a network namespace the test creates, so its bridges,
 * iptables chains and default bridge are its own and the machine's engine is not touched.
 *
 * Which filesystem: the first of these the kernel can mount.
 * - XFS mounted with `pquota`, storage driver overlay2: the usual way. Needs a kernel built with
 *   XFS quota (CONFIG_XFS_QUOTA); without it the mount fails ("quota support not available").
 * - btrfs, storage driver btrfs: Docker caps a container's subvolume with a qgroup. That limit
 *   counts what the container's root references, the image's files included, not only what the
 *   container writes (docs/resources.md), and a write past it fails with EDQUOT.
 *
 * Needs root, dockerd, iproute2 and util-linux (as second-engine.ts), and mkfs.xfs (xfsprogs) or
 * mkfs.btrfs (btrfs-progs), which .ci/run installs.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  truncateSync,
} from "node:fs";
import { join } from "node:path";
import {
  type SecondEngine,
  secondEngineUnavailable,
  startSecondEngine,
} from "../../helpers/second-engine.ts";

export interface QuotaEngine extends SecondEngine {
  /** The filesystem under the engine's data-root. */
  filesystem: "xfs" | "btrfs";
  /** The engine's storage driver. */
  driver: "overlay2" | "btrfs";
}

interface Candidate {
  filesystem: QuotaEngine["filesystem"];
  driver: QuotaEngine["driver"];
  mkfs: string;
  pkg: string;
  mountOptions: string;
}

const CANDIDATES: readonly Candidate[] = [
  { filesystem: "xfs", driver: "overlay2", mkfs: "mkfs.xfs", pkg: "xfsprogs", mountOptions: "loop,pquota" },
  { filesystem: "btrfs", driver: "btrfs", mkfs: "mkfs.btrfs", pkg: "btrfs-progs", mountOptions: "loop" },
];
/** Sparse: the host's disk holds only what the engine writes (its images, the bottles, a filler). */
const FILESYSTEM_BYTES = 8 * 1024 ** 3;

function which(tool: string): string | undefined {
  return ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    .map((dir) => join(dir, tool))
    .find((path) => existsSync(path));
}

function run(argv: readonly string[]): { ok: boolean; why: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const why = `${result.stderr ?? ""}${result.stdout ?? ""}`.trim().split("\n")[0] ?? "";
  return { ok: result.status === 0, why: why || `exit ${result.status}` };
}

/** Detaches every loop device still backed by `file` (a failed mount may leave one). */
function detachLoops(file: string): void {
  const listed = spawnSync("losetup", ["--associated", file, "--noheadings", "--output", "NAME"], {
    encoding: "utf8",
  });
  for (const device of (listed.stdout ?? "").split("\n").filter(Boolean))
    spawnSync("losetup", ["--detach", device]);
}

async function unmount(mountpoint: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (run(["umount", mountpoint]).ok) return;
    if (!readFileSync("/proc/self/mounts", "utf8").includes(` ${mountpoint} `)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Still busy: detach it now; the kernel lets go of it (and the loop device) when it is unused.
  run(["umount", "--lazy", mountpoint]);
}

/**
 * The engine, or why this machine cannot run one (then the tests skip).
 *
 * What skips and what fails under CLAUDE_BOTTLE_REQUIRE_DOCKER=1 (CI): a machine without root or
 * dockerd cannot run a second engine at all, and a kernel that mounts neither filesystem with its
 * quota (no loop devices, no XFS quota, no btrfs) cannot cap a disk however it is set up: both
 * skip, saying why. A missing mkfs is setup that .ci/run does, so it fails there; and once the
 * filesystem is mounted, an engine that does not start on it, or starts with another storage
 * driver, is a bug of this fixture or of the engine's setup: that always throws.
 */
export async function startQuotaEngine(): Promise<QuotaEngine | { skip: string }> {
  const unavailable = secondEngineUnavailable();
  if (unavailable !== undefined) return { skip: unavailable };
  const required = process.env.CLAUDE_BOTTLE_REQUIRE_DOCKER === "1";
  const tried: string[] = [];
  for (const candidate of CANDIDATES) {
    const mkfs = which(candidate.mkfs);
    if (mkfs === undefined) {
      if (required) throw new Error(`${candidate.mkfs} is missing: install ${candidate.pkg} (.ci/run does)`);
      tried.push(`${candidate.filesystem}: ${candidate.mkfs} is missing (${candidate.pkg})`);
      continue;
    }
    const root = mkdtempSync("/tmp/cb-quota-");
    const file = join(root, "disk.img");
    const mountpoint = join(root, "mnt");
    mkdirSync(mountpoint);
    const removeRoot = () => {
      detachLoops(file);
      // Never recurse into a filesystem that is still mounted there.
      if (readFileSync("/proc/self/mounts", "utf8").includes(` ${mountpoint} `)) return;
      rmSync(root, { recursive: true, force: true });
    };
    closeSync(openSync(file, "w"));
    truncateSync(file, FILESYSTEM_BYTES);
    const made = run([mkfs, "-q", file]);
    if (!made.ok) {
      removeRoot();
      throw new Error(`${mkfs} ${file} failed: ${made.why}`);
    }
    const mounted = run([
      "mount",
      "-t",
      candidate.filesystem,
      "-o",
      candidate.mountOptions,
      file,
      mountpoint,
    ]);
    if (!mounted.ok) {
      removeRoot();
      tried.push(`${candidate.filesystem} (mount -o ${candidate.mountOptions}): ${mounted.why}`);
      continue;
    }
    const release = async () => {
      await unmount(mountpoint);
      removeRoot();
    };
    let engine: SecondEngine;
    try {
      engine = await startSecondEngine(
        { "storage-driver": candidate.driver },
        { dataRoot: join(mountpoint, "docker") },
      );
    } catch (error) {
      await release();
      throw new Error(`a Docker engine on ${candidate.filesystem} did not start`, { cause: error });
    }
    const dispose = async () => {
      await engine[Symbol.asyncDispose]();
      await release();
    };
    const [driver, backing] = engine
      .docker([
        "info",
        "--format",
        '{{.Driver}}|{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}',
      ])
      .trim()
      .split("|");
    if (driver !== candidate.driver || (candidate.driver === "overlay2" && backing !== "xfs")) {
      await dispose();
      throw new Error(`the engine on ${candidate.filesystem} stores with ${driver} on ${backing || "?"}`);
    }
    return {
      ...engine,
      filesystem: candidate.filesystem,
      driver: candidate.driver,
      [Symbol.asyncDispose]: dispose,
    };
  }
  return { skip: `this machine cannot mount a filesystem Docker caps disks on: ${tried.join("; ")}` };
}
