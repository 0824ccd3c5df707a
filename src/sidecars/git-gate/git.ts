import { spawn } from "node:child_process";

export interface GitResult {
  code: number;
  /** The signal that ended it (e.g. SIGKILL after a timeout), else null. */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface GitOptions {
  /** The repository (run as `git -C cwd`). */
  cwd: string;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Cap of captured stdout; more is an error (the caller asked for something unbounded). */
  maxStdoutBytes?: number;
}

/** Runs git with an argv (never a shell), capturing output; resolves whatever the exit code. */
export function git(args: readonly string[], options: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["-C", options.cwd, ...args], {
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = "";
    let timedOut = false;
    const max = options.maxStdoutBytes ?? 256 * 1024 * 1024;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        child.kill("SIGKILL");
        return;
      }
      out.push(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (outBytes > max) {
        reject(new Error(`git ${args[0]} wrote more than ${max} bytes`));
        return;
      }
      resolve({ code: code ?? 128, signal, stdout: Buffer.concat(out), stderr, timedOut });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/** Like `git`, but rejects on a non-zero exit with git's stderr in the message. */
export async function gitOk(args: readonly string[], options: GitOptions): Promise<Buffer> {
  const result = await git(args, options);
  if (result.code !== 0) {
    throw new Error(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}
