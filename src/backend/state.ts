import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { homeLayout } from "../lib/home-layout.ts";
import { pidAlive } from "../lib/pid.ts";
import { INSTANCE_ID } from "./instance.ts";

/** What the host remembers of an instance: enough for `list --running`, `exec`, `stop`, `resume`. */
export interface InstanceRecord {
  instance: string;
  agent: string;
  bottle: string;
  /** Attached: the CLI owns the bottle's life. Detached: it runs until `stop`. */
  mode: "attached" | "detached";
  ownerPid: number;
  createdAt: string;
  caFingerprint: string;
  /** The working directory the agent was started from (for `resume`). */
  cwd: string;
  /**
   * The plan it was launched with, as `start --dry-run --format json` shows it (names, never
   * values): a capability approval re-plans the bottle and must arrive at exactly this.
   */
  plan?: Record<string, unknown>;
}

/**
 * How long a replacement may take (remove, start, provision, restore the home state; the image is
 * built before the mark is set). A mark older than this is a leftover.
 */
export const REPLACING_MAX_MS = 10 * 60_000;

/** `~/.claude-bottle/state/<instance>.json`, written atomically. */
export class InstanceStore {
  readonly dir: string;

  constructor(home: string) {
    this.dir = homeLayout(home).state;
  }

  save(record: InstanceRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#file(record.instance);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  load(instance: string): InstanceRecord | undefined {
    if (!INSTANCE_ID.test(instance)) return undefined;
    try {
      return JSON.parse(readFileSync(this.#file(instance), "utf8")) as InstanceRecord;
    } catch {
      return undefined;
    }
  }

  list(): InstanceRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name.endsWith(".json"))
      .map((name) => this.load(name.slice(0, -5)))
      .filter((record): record is InstanceRecord => record !== undefined);
  }

  remove(instance: string): void {
    rmSync(this.#file(instance), { force: true });
    rmSync(this.#replacingFile(instance), { force: true });
  }

  /**
   * Marks the instance's agent container as being replaced (a capability approval) by process
   * `pid`: a session attached to the old container waits for the new one instead of ending the
   * bottle (src/cli/attach.ts). Dispose to clear the mark.
   */
  markReplacing(instance: string, pid = process.pid): Disposable {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#replacingFile(instance);
    writeFileSync(file, `${pid} ${Date.now()}\n`, { mode: 0o600 });
    return { [Symbol.dispose]: () => rmSync(file, { force: true }) };
  }

  /**
   * Whether a live process is replacing the instance's agent container right now. A mark older
   * than REPLACING_MAX_MS does not count: its writer died without clearing it and the pid may
   * have been reused.
   */
  isReplacing(instance: string, now = Date.now()): boolean {
    try {
      const [pid, since] = readFileSync(this.#replacingFile(instance), "utf8").trim().split(" ").map(Number);
      return (
        Number.isInteger(pid) &&
        pid! > 0 &&
        pidAlive(pid!) &&
        Number.isFinite(since) &&
        now - since! < REPLACING_MAX_MS
      );
    } catch {
      return false;
    }
  }

  #replacingFile(instance: string): string {
    return join(this.dir, `${instance}.replacing`);
  }

  #file(instance: string): string {
    return join(this.dir, `${instance}.json`);
  }
}
