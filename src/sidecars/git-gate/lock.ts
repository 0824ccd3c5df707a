import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { pidAlive } from "../../lib/pid.ts";

/**
 * A lock file holding the owner's PID, for hooks (separate processes) that must not run the same
 * mirror update at once. A lock whose owner is gone (a killed hook) is taken over.
 */
export async function acquireLock(path: string, timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (ownerIsGone(path)) {
      try {
        unlinkSync(path);
      } catch {
        // another waiter removed it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function ownerIsGone(path: string): boolean {
  let text: string;
  let ageMs: number;
  try {
    text = readFileSync(path, "utf8");
    ageMs = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false;
  }
  const pid = Number(text);
  // Created but not yet written (the owner is between open and write), unless that is stale.
  if (!Number.isInteger(pid) || pid <= 0) return ageMs > 10_000;
  return !pidAlive(pid);
}
