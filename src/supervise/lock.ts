import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
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
    pid = Number(readFileSync(file, "utf8"));
  } catch {
    return true; // being written right now
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return pidAlive(pid);
}
