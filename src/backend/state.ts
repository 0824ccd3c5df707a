import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
}

/** `~/.claude-bottle/state/<instance>.json`, written atomically. */
export class InstanceStore {
  readonly dir: string;

  constructor(home: string) {
    this.dir = join(home, "state");
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
  }

  #file(instance: string): string {
    return join(this.dir, `${instance}.json`);
  }
}
