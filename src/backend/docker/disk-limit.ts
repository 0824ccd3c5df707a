/**
 * Whether the engine can cap a container's writable layer (`--storage-opt size=`, the bottle's
 * `limits.disk`). Docker can only with these storage drivers, and overlay2 only on XFS mounted
 * with `pquota` (which `docker info` does not show: such an engine refuses at container create).
 * Pure.
 */
import type { EngineInfo } from "./engine/engine.ts";

const CAPPING_DRIVERS = new Set(["btrfs", "zfs", "devicemapper"]);

/** Undefined when `limits.disk` can be enforced; otherwise why not, and what to do. */
export function diskLimitRefusal(storage: EngineInfo["storage"]): string | undefined {
  if (CAPPING_DRIVERS.has(storage.driver)) return undefined;
  if (storage.driver === "overlay2" && storage.backingFilesystem === "xfs") return undefined;
  const where = `${storage.driver || "an unknown driver"}${storage.backingFilesystem ? ` on ${storage.backingFilesystem}` : ""}`;
  return `the bottle sets limits.disk, but this Docker engine stores containers with ${where}, which cannot cap a container's disk (that needs overlay2 on XFS mounted with pquota, btrfs, zfs or devicemapper). Remove limits.disk from the bottle manifest to run without a disk cap (docs/resources.md), or move Docker's data-root to such a filesystem`;
}
