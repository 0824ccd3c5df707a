/** `DockerEngine` over the docker CLI: every call is one argv array, run without a shell. */

import { Transform } from "node:stream";
import {
  containerCreateArgs,
  copyOutArgs,
  execArgs,
  filterArgs,
  killArgs,
  labelArgs,
  stopArgs,
} from "./args.ts";
import type {
  BuildOptions,
  CommitOptions,
  ContainerInfo,
  ContainerSpec,
  DockerEngine,
  EngineInfo,
  ExecOptions,
  ExecResult,
  ImageInfo,
  InMemoryFile,
  LabelFilter,
  NetworkCreateOptions,
  NetworkInfo,
} from "./engine.ts";
import { withEnvFile } from "./env-file.ts";
import { CopyTooLargeError, EngineError, NOT_FOUND } from "./error.ts";
import { parseContainers, parseImages, parseInfo, parseNetworks } from "./parse.ts";
import { type RunOptions, type RunResult, runDocker } from "./run.ts";
import { tarFiles } from "./tar.ts";

export interface CliDockerEngineOptions {
  /** The docker CLI; default "docker" from PATH. DOCKER_HOST and friends apply as usual. */
  docker?: string;
  /** How long `info` waits for an engine before giving up; default 10 s. */
  infoTimeoutMs?: number;
  /** Whether exec with inherited stdio gets a TTY; default: whether our stdin is one. */
  stdinIsTty?: () => boolean;
}

/** Bound on one `containerCopyOut` (a whole ~/workspace may be large, but not unbounded). */
const COPY_OUT_MAX_BYTES = 1024 ** 3;

/** How long removing one container may take: a healthy one goes within seconds, even SIGKILLed. */
const REMOVE_TIMEOUT_MS = 60_000;

export class CliDockerEngine implements DockerEngine {
  readonly #docker: string;
  readonly #infoTimeoutMs: number;
  readonly #stdinIsTty: () => boolean;

  constructor(options: CliDockerEngineOptions = {}) {
    this.#docker = options.docker ?? "docker";
    this.#infoTimeoutMs = options.infoTimeoutMs ?? 10_000;
    this.#stdinIsTty = options.stdinIsTty ?? (() => process.stdin.isTTY === true);
  }

  #run(args: readonly string[], options?: RunOptions): Promise<RunResult> {
    return runDocker(this.#docker, args, options);
  }

  /** Runs an inspect-like command over several objects; missing ones are left out. */
  async #inspectMany(args: readonly string[]): Promise<string> {
    const result = await this.#run(args, { reject: false });
    if (result.exitCode === 0) return result.stdout;
    const error = new EngineError({
      command: result.command,
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
    const otherErrors = result.stderr
      .split("\n")
      .filter((line) => line.trim() !== "" && !NOT_FOUND.test(line));
    if (otherErrors.length > 0 || !result.stdout.trimStart().startsWith("[")) {
      if (error.isNotFound && otherErrors.length === 0) return "[]";
      throw error;
    }
    return result.stdout;
  }

  async info(): Promise<EngineInfo> {
    const result = await this.#run(["info", "--format", "{{json .}}"], { timeoutMs: this.#infoTimeoutMs });
    return parseInfo(result.stdout);
  }

  async imageInspect(ref: string): Promise<ImageInfo | undefined> {
    return parseImages(await this.#inspectMany(["image", "inspect", ref]))[0];
  }

  async imageList(filter: LabelFilter): Promise<ImageInfo[]> {
    const ids = [
      ...new Set(await this.#ids(["image", "ls", "--quiet", "--no-trunc", ...filterArgs(filter)])),
    ];
    if (ids.length === 0) return [];
    return parseImages(await this.#inspectMany(["image", "inspect", ...ids]));
  }

  async imageRemove(ref: string, options: { force?: boolean } = {}): Promise<void> {
    await this.#ignoreNotFound(["image", "rm", ...(options.force === true ? ["--force"] : []), ref]);
  }

  async build(options: BuildOptions): Promise<string> {
    // --force-rm: a failed RUN step (a rejected capability build, say) must not leave its
    // intermediate container behind.
    const args = ["build", "--force-rm", "--tag", options.tag];
    if (options.dockerfile !== undefined) args.push("--file", options.dockerfile);
    args.push(...labelArgs(options.labels));
    for (const [name, value] of Object.entries(options.buildArgs ?? {}))
      args.push("--build-arg", `${name}=${value}`);
    if (options.noCache === true) args.push("--no-cache");
    args.push(options.context);
    const progress = options.progress === undefined ? process.stderr : options.progress;
    await this.#run(args, progress === null ? {} : { progress });
    const image = await this.imageInspect(options.tag);
    if (image === undefined) {
      throw new EngineError({
        command: ["docker", ...args],
        reason: `Build succeeded but ${options.tag} is missing`,
      });
    }
    return image.id;
  }

  async imageCommit(container: string, options: CommitOptions): Promise<string> {
    const changes = (options.changes ?? []).flatMap((change) => ["--change", change]);
    const result = await this.#run(["commit", "--pause=false", ...changes, container, options.tag]);
    return result.stdout.trim();
  }

  async networkCreate(options: NetworkCreateOptions): Promise<string> {
    const args = [
      "network",
      "create",
      // `--internal` alone still gives the host an address on the bridge, and every service the
      // host listens on is reachable there; inhibit_ipv4 leaves the host no address at all.
      ...(options.internal ? ["--internal", "--opt", "com.docker.network.bridge.inhibit_ipv4=true"] : []),
      ...labelArgs(options.labels),
    ];
    const result = await this.#run([...args, options.name]);
    return result.stdout.trim();
  }

  async networkInspect(nameOrId: string): Promise<NetworkInfo | undefined> {
    return parseNetworks(await this.#inspectMany(["network", "inspect", nameOrId]))[0];
  }

  async networkConnect(
    network: string,
    container: string,
    options: { aliases?: readonly string[] } = {},
  ): Promise<void> {
    const aliases = (options.aliases ?? []).flatMap((alias) => ["--alias", alias]);
    await this.#run(["network", "connect", ...aliases, network, container]);
  }

  async networkRemove(nameOrId: string): Promise<void> {
    await this.#ignoreNotFound(["network", "rm", nameOrId]);
  }

  async networkList(filter: LabelFilter): Promise<NetworkInfo[]> {
    const ids = await this.#ids(["network", "ls", "--quiet", "--no-trunc", ...filterArgs(filter)]);
    if (ids.length === 0) return [];
    return parseNetworks(await this.#inspectMany(["network", "inspect", ...ids]));
  }

  async containerCreate(spec: ContainerSpec): Promise<string> {
    const result = await withEnvFile(spec.env, (envFile) => this.#run(containerCreateArgs(spec, envFile)));
    return result.stdout.trim();
  }

  async containerCopyIn(container: string, destDir: string, files: readonly InMemoryFile[]): Promise<void> {
    // A tar on stdin keeps the uid/gid of its headers. `--archive` is not used: Engine 20.10
    // resolves the container's user with the *host's* getent for it, failing on unknown users.
    await this.#run(["cp", "-", `${container}:${destDir}`], { input: tarFiles(files) });
  }

  async containerCopyInArchive(container: string, destDir: string, tar: Buffer): Promise<void> {
    await this.#run(["cp", "-", `${container}:${destDir}`], { input: tar });
  }

  async containerCopyOut(container: string, path: string): Promise<Buffer> {
    const result = await this.#run(copyOutArgs(container, path), { maxBuffer: COPY_OUT_MAX_BYTES });
    return result.stdoutBytes;
  }

  async containerCopyBetween(
    from: string,
    path: string,
    to: string,
    destDir: string,
    options: { maxBytes: number },
  ): Promise<number> {
    const stop = new AbortController();
    let bytes = 0;
    stop.signal.addEventListener("abort", () => counted.destroy(), { once: true });
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > options.maxBytes) stop.abort(new CopyTooLargeError(path, options.maxBytes));
        done(null, chunk);
      },
    });
    const copiedOut = this.#run(copyOutArgs(from, path), { stdoutTo: counted, signal: stop.signal });
    const copiedIn = this.#run(["cp", "-", `${to}:${destDir}`], { input: counted, signal: stop.signal });
    // The first failure stops the other end too: neither may wait forever for the other.
    const [out, into] = await Promise.allSettled(
      [copiedOut, copiedIn].map((run) =>
        run.catch((error: unknown) => {
          stop.abort(error);
          throw error;
        }),
      ),
    );
    if (stop.signal.reason instanceof CopyTooLargeError) throw stop.signal.reason;
    // A missing path is the copy-out's error, whichever end noticed first.
    if (out?.status === "rejected") throw out.reason;
    if (into?.status === "rejected") throw into.reason;
    return bytes;
  }

  async containerStart(container: string): Promise<void> {
    await this.#run(["start", container]);
  }

  async containerStop(container: string, options: { graceSeconds: number }): Promise<void> {
    await this.#run(stopArgs(container, options.graceSeconds));
  }

  async containerRename(container: string, newName: string): Promise<void> {
    await this.#run(["rename", container, newName]);
  }

  async containerExec(
    container: string,
    command: readonly string[],
    options: ExecOptions = {},
  ): Promise<ExecResult> {
    const runOptions: RunOptions = { reject: false, stdio: options.stdio ?? "capture" };
    if (options.input !== undefined) runOptions.input = options.input;
    if (options.timeoutMs !== undefined) runOptions.timeoutMs = options.timeoutMs;
    if (options.signal !== undefined) runOptions.signal = options.signal;
    if (options.progress !== undefined) runOptions.progress = options.progress;
    const terminal = { stdinIsTty: this.#stdinIsTty() };
    const result = await withEnvFile(options.env, (envFile) =>
      this.#run(execArgs(container, command, options, terminal, envFile), runOptions),
    );
    if (options.check === true && result.exitCode !== 0) {
      throw new EngineError({ command: result.command, exitCode: result.exitCode, stderr: result.stderr });
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }

  async containerKill(container: string, signal: string): Promise<void> {
    await this.#run(killArgs(container, signal));
  }

  async containerInspect(nameOrId: string): Promise<ContainerInfo | undefined> {
    return parseContainers(await this.#inspectMany(["container", "inspect", nameOrId]))[0];
  }

  async containerRemove(nameOrId: string): Promise<void> {
    // Bounded: a gVisor sandbox whose kernel the host OOM-killed can keep `rm --force` waiting for
    // ever on Docker 20.10 (docs/isolation.md); `stop` then fails naming the container instead.
    await this.#ignoreNotFound(["container", "rm", "--force", "--volumes", nameOrId], REMOVE_TIMEOUT_MS);
  }

  async containerList(filter: LabelFilter): Promise<ContainerInfo[]> {
    const ids = await this.#ids(["container", "ls", "--all", "--quiet", "--no-trunc", ...filterArgs(filter)]);
    if (ids.length === 0) return [];
    return parseContainers(await this.#inspectMany(["container", "inspect", ...ids]));
  }

  async #ids(args: readonly string[]): Promise<string[]> {
    const result = await this.#run(args);
    return result.stdout.split("\n").filter((line) => line.trim() !== "");
  }

  async #ignoreNotFound(args: readonly string[], timeoutMs?: number): Promise<void> {
    try {
      await this.#run(args, timeoutMs === undefined ? {} : { timeoutMs });
    } catch (error) {
      if (error instanceof EngineError && error.isNotFound) return;
      throw error;
    }
  }
}
