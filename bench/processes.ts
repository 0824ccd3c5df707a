import { type ChildProcess, spawn } from "node:child_process";

/** Child processes of a benchmark: started with piped output, all stopped by `stopAll`. */
export class BenchProcesses {
  readonly #children: ChildProcess[] = [];

  start(command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env });
    this.#children.push(child);
    return child;
  }

  stopAll(): void {
    for (const child of this.#children) child.kill("SIGTERM");
  }
}

/** Reads a stream until `pattern` matches (a port or "listening on" line of a child). */
export async function firstMatch(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpMatchArray> {
  let text = "";
  for await (const chunk of stream) {
    text += String(chunk);
    const match = text.match(pattern);
    if (match) return match;
  }
  throw new Error(`stream ended before ${pattern}: ${text.slice(-500)}`);
}
