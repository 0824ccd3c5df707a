import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { homeLayout } from "../lib/home-layout.ts";
import { INSTANCE_ID } from "./instance.ts";

/**
 * Removes supervise's host dirs of every instance not in `keep` (the audit log in logs/ stays).
 * A bottle torn down by its own CLI removes them itself; this is for `stop` of a detached bottle
 * and for `cleanup` after a CLI that was killed.
 */
export function removeSuperviseDirs(home: string, keep: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  const layout = homeLayout(home);
  for (const root of [layout.queue, layout.currentConfig]) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      if (keep.has(name) || !INSTANCE_ID.test(name)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(join(root, name));
    }
  }
  return removed;
}
