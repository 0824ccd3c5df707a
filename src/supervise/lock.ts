import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { readHostFile, UnsafeHostFileError } from "../lib/host-files.ts";
import { pidAlive } from "../lib/pid.ts";

/**
 * One decision applies at a time per bottle (each rewrites a config from what it read). The lock
 * is a file holding the holder's pid, created exclusively; a lock whose holder is dead is taken
 * over, so a crashed `approve` blocks nobody.
 */
export async function withLock<T>(file: string, run: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (!holderAlive(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another decision is being applied (lock ${file})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(file, { force: true });
  }
}

function holderAlive(file: string): boolean {
  let pid: number;
  try {
    // The lock sits in the queue dir, which the sidecar writes: never block on what it put there.
    pid = Number(readHostFile(file, 64));
  } catch (error) {
    if (error instanceof UnsafeHostFileError) return false;
    return true; // being written right now
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return pidAlive(pid);
}
