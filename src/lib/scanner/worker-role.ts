import { isMainThread, parentPort, workerData } from "node:worker_threads";

/**
 * Marks the threads of the scanner's worker pool (pool.ts). A worker runs the module the pool was
 * loaded from: pool.ts itself from source, the whole bundle in a single-file build, where the
 * bundle's entry must hand the thread to the pool before doing anything else. Kept apart from
 * pool.ts so an entry can ask without loading the scanner.
 */
export const WORKER_MARKER = "claude-bottle.scanner-worker";

export function isScanWorker(): boolean {
  return (
    !isMainThread &&
    parentPort !== null &&
    typeof workerData === "object" &&
    workerData !== null &&
    WORKER_MARKER in workerData
  );
}
