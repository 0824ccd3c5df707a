/**
 * Runs the docker CLI: an argv array through child_process.spawn (no shell), bounded output
 * capture, optional stdin, optional live progress, a timeout that terminates gracefully first
 * (SIGTERM) and forcibly later (SIGKILL).
 */
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { EngineError } from "./error.ts";

export interface RunOptions {
  /** Bytes for the CLI's stdin (`docker cp -`, `docker exec -i`), or a stream piped into it. */
  input?: Buffer | string | Readable;
  /** Pipes stdout here (with backpressure) instead of capturing it (`docker cp C:PATH -` into another cp). */
  stdoutTo?: Writable;
  /** "inherit" hands the caller's terminal to the command; nothing is captured. */
  stdio?: "capture" | "inherit";
  /** Streams stdout and stderr here while running (builds); only a tail of stderr is kept. */
  progress?: Writable;
  /** Reject when the exit code is not 0; default true. */
  reject?: boolean;
  timeoutMs?: number;
  /** Ends the command (SIGTERM, then SIGKILL) when aborted; the promise rejects. */
  signal?: AbortSignal | undefined;
  /** Bound on each captured stream; exceeding it kills the command. Default 64 MiB. */
  maxBuffer?: number;
}

export interface RunResult {
  command: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Stdout as bytes (a tar from `docker cp CONTAINER:PATH -`). */
  stdoutBytes: Buffer;
}

const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;
/** Stderr kept for the error message when output streams to `progress`. */
const PROGRESS_TAIL = 16 * 1024;
const KILL_GRACE_MS = 3000;

export function runDocker(
  docker: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const command = [docker, ...args];
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER;
  const inherit = options.stdio === "inherit";
  return new Promise((resolve, reject) => {
    const child = spawn(docker, args, {
      // The user's own environment, never a value from a manifest (engine/env-file.ts says why).
      env: process.env,
      stdio: inherit ? "inherit" : ["pipe", "pipe", "pipe"],
    });
    const stdout = new BoundedBuffer(
      options.progress === undefined && options.stdoutTo === undefined ? maxBuffer : 0,
    );
    const stderr = new BoundedBuffer(options.progress === undefined ? maxBuffer : PROGRESS_TAIL, true);
    let failure: { reason?: string; timedOut?: boolean; cause?: unknown } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = () => {
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            failure = { timedOut: true };
            terminate();
          }, options.timeoutMs);

    const onAbort = () => terminate();
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });

    const onData = (sink: BoundedBuffer) => (chunk: Buffer) => {
      options.progress?.write(chunk);
      if (!sink.push(chunk) && failure === undefined) {
        failure = { reason: `Output exceeded ${maxBuffer} bytes` };
        terminate();
      }
    };
    if (options.stdoutTo !== undefined) {
      child.stdout?.pipe(options.stdoutTo);
      // A destination that goes away leaves stdout paused with data in it: its end, and so the
      // command's close, would never be seen. Drained, it ends when the command does.
      options.stdoutTo.once("close", () => child.stdout?.resume());
    } else child.stdout?.on("data", onData(stdout));
    child.stderr?.on("data", onData(stderr));
    if (child.stdin !== null) {
      // EPIPE when the CLI exits before reading all input: its exit status tells the story.
      child.stdin.on("error", () => {});
      const input = options.input ?? "";
      if (typeof input === "string" || Buffer.isBuffer(input)) child.stdin.end(input);
      else input.pipe(child.stdin);
    }
    child.on("error", (cause) => {
      failure = { reason: `Could not run ${docker} (${cause.message})`, cause };
    });
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (killTimer !== undefined) clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      const result: RunResult = {
        command,
        exitCode: code ?? -1,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutBytes: stdout.bytes(),
      };
      if (failure !== undefined || signal !== null || (code !== 0 && options.reject !== false)) {
        reject(
          new EngineError({
            command,
            exitCode: code ?? undefined,
            signal: signal ?? undefined,
            stderr: result.stderr,
            ...failure,
          }),
        );
        return;
      }
      resolve(result);
    });
  });
}

/** Collects chunks up to a limit; in tail mode keeps the last `limit` bytes instead of failing. */
class BoundedBuffer {
  readonly #limit: number;
  readonly #tail: boolean;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number, tail = false) {
    this.#limit = limit;
    this.#tail = tail;
  }

  /** False when the limit is exceeded and this buffer is not in tail mode. */
  push(chunk: Buffer): boolean {
    if (this.#limit === 0) return true;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size <= this.#limit) return true;
    if (!this.#tail) return false;
    const joined = Buffer.concat(this.#chunks);
    this.#chunks = [joined.subarray(joined.length - this.#limit)];
    this.#size = this.#limit;
    return true;
  }

  text(): string {
    return this.bytes().toString("utf8");
  }

  bytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}
