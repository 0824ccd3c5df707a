/**
 * The one narrow interface every Docker call of claude-bottle goes through. Planning and launch
 * code depend on this interface only, so tests can hand them a fake; `CliDockerEngine`
 * (cli.ts) implements it with argv arrays to the `docker` CLI, never a shell string.
 *
 * Conventions: a lookup of something that does not exist resolves to `undefined` (inspect) or is
 * a no-op (remove); every other failure rejects with an `EngineError` (error.ts).
 * Environment values never appear in an argv (where `ps` would show them): see args.ts.
 */
import type { Writable } from "node:stream";

/** Label keys every claude-bottle resource carries; cleanup and the orphan probe filter on them. */
export const LABEL_INSTANCE = "claude-bottle.instance";
export const LABEL_ROLE = "claude-bottle.role";
/** Hash of an image's inputs (images.ts): a mismatch means the image is stale. */
export const LABEL_INPUTS_HASH = "claude-bottle.inputs-hash";

export type Labels = Readonly<Record<string, string>>;

/** `{ key: "value" }` matches label key=value; `{ key: true }` matches any value of key. */
export type LabelFilter = Readonly<Record<string, string | true>>;

export interface EngineInfo {
  /** The engine's own id (`docker info`'s ID); empty when it reports none. */
  id: string;
  serverVersion: string;
  /** Runtime names the engine knows (runc, and runsc when gVisor is installed). */
  runtimes: string[];
  /** Each runtime's registration (path, runtimeArgs) as the engine reports it, as JSON. */
  runtimeConfigs: Readonly<Record<string, string>>;
  defaultRuntime: string;
  os: string;
  architecture: string;
  /** The storage driver (overlay2) and the filesystem under it ("xfs", "extfs"), as `docker info` says. */
  storage: { driver: string; backingFilesystem: string };
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  /** Bytes, as `docker image inspect` reports them. */
  size: number;
  created: string;
  /** What a container of the image runs with unless told otherwise. */
  config: {
    user: string;
    workdir: string;
    /** `NAME=value` entries. */
    env: string[];
    entrypoint: string[] | null;
    cmd: string[] | null;
  };
}

export interface CommitOptions {
  tag: string;
  /** Dockerfile instructions applied to the new image's config (`docker commit --change`). */
  changes?: readonly string[];
}

export interface BuildOptions {
  /** Directory sent as the build context. */
  context: string;
  /** Path of the Dockerfile; default `<context>/Dockerfile`. */
  dockerfile?: string;
  tag: string;
  buildArgs?: Readonly<Record<string, string>>;
  labels?: Labels;
  noCache?: boolean;
  /** Where the build's output streams while it runs; default process.stderr, null for silence. */
  progress?: Writable | null;
}

export interface NetworkCreateOptions {
  name: string;
  /** `--internal` and no host address on the bridge: no route out, not even to the host (G1, G7). */
  internal: boolean;
  labels?: Labels;
}

export interface NetworkInfo {
  id: string;
  name: string;
  internal: boolean;
  /** IPAM subnets in CIDR notation, e.g. ["172.18.0.0/16"]. */
  subnets: string[];
  labels: Record<string, string>;
  /** Ids of the containers attached. */
  containers: string[];
}

interface BindMount {
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface HealthCheck {
  /** Run by the container's /bin/sh (Docker's CMD-SHELL form); a fixed string, never user input. */
  shellCommand: string;
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  retries?: number;
}

export interface ContainerSpec {
  image: string;
  name?: string;
  labels?: Labels;
  /** The network the container starts on; further ones via `networkConnect`. */
  network?: string;
  networkAliases?: readonly string[];
  hostname?: string;
  user?: string;
  workdir?: string;
  /** Values travel through the docker CLI's environment, not its argv. */
  env?: Readonly<Record<string, string>>;
  entrypoint?: string;
  command?: readonly string[];
  capDrop?: readonly string[];
  capAdd?: readonly string[];
  securityOpt?: readonly string[];
  readOnlyRootfs?: boolean;
  /** Mount path → options (e.g. "rw,size=64m"); an empty string for defaults. */
  tmpfs?: Readonly<Record<string, string>>;
  pidsLimit?: number;
  /** Supplementary groups (numeric gids) of the container's user. */
  groupAdd?: readonly string[];
  /** Bytes. */
  memoryBytes?: number;
  /** `--cpus`: how many CPUs' worth of time the container may use. */
  cpus?: number;
  /** `--storage-opt size=`: bytes the container's writable layer may hold (disk-limit.ts says where). */
  diskBytes?: number;
  /** `--ulimit name=soft:hard`, both set to the value (e.g. `nproc`). */
  ulimits?: Readonly<Record<string, number>>;
  runtime?: string;
  /**
   * `--publish hostIp:hostPort:containerPort`: only for demo and test peers (an upstream the
   * bottle reaches through the host), never for a bottle's own containers.
   */
  publish?: readonly { hostIp: string; hostPort: number; containerPort: number }[];
  /** `--dns`: the servers Docker's embedded resolver forwards names it does not know to. */
  dns?: readonly string[];
  /** `--add-host name:address` (address may be `host-gateway`). */
  extraHosts?: Readonly<Record<string, string>>;
  mounts?: readonly BindMount[];
  healthcheck?: HealthCheck;
  /** Run docker-init as PID 1 so signals and zombies are handled. */
  init?: boolean;
  /** Keep stdin open and allocate a TTY (for an interactive main process). */
  interactive?: boolean;
  tty?: boolean;
}

export interface InMemoryFile {
  /** Path relative to the destination directory, "/"-separated, no "..". */
  path: string;
  content: Buffer | string;
  /** Default 0o644. */
  mode?: number;
  /** Default 0 (root). */
  uid?: number;
  gid?: number;
}

export type HealthStatus = "starting" | "healthy" | "unhealthy" | "none";

export interface ContainerInfo {
  id: string;
  name: string;
  /** The image reference it was created from, as given (a tag may have moved since). */
  image: string;
  /** The id of the image it runs on. */
  imageId?: string;
  /** created | running | paused | restarting | removing | exited | dead */
  status: string;
  running: boolean;
  exitCode: number;
  health: HealthStatus;
  labels: Record<string, string>;
  /** The OCI runtime it runs on (`runc`, `runsc` for gVisor); absent from fakes. */
  runtime?: string;
  /** Network name → address of this container on it. */
  networks: Record<string, { ipAddress: string; aliases: string[] }>;
  /** The container's environment (the image's and its own); absent from fakes. */
  env?: Record<string, string>;
}

export interface ExecOptions {
  user?: string;
  workdir?: string;
  env?: Readonly<Record<string, string>>;
  /**
   * "capture" (default): collect stdout and stderr, feed `input` to stdin when given.
   * "inherit": the caller's terminal is the command's stdio (with a TTY when stdin is one).
   */
  stdio?: "capture" | "inherit";
  input?: Buffer | string;
  /** Where stdout and stderr stream while it runs (capture then keeps only their tails). */
  progress?: Writable;
  /** Reject with an EngineError when the command exits non-zero; default false. */
  check?: boolean;
  timeoutMs?: number;
  /** Ends the exec's docker client when aborted (the command inside may run on); rejects. */
  signal?: AbortSignal | undefined;
}

export interface ExecResult {
  exitCode: number;
  /** Empty when stdio is "inherit". */
  stdout: string;
  stderr: string;
}

export interface DockerEngine {
  /** Engine facts; rejects with an EngineError when no engine answers. */
  info(): Promise<EngineInfo>;

  imageInspect(ref: string): Promise<ImageInfo | undefined>;
  /** Images whose labels match the filter. */
  imageList(filter: LabelFilter): Promise<ImageInfo[]>;
  imageRemove(ref: string, options?: { force?: boolean }): Promise<void>;
  /** Builds and tags an image, streaming progress; resolves to the new image id. */
  build(options: BuildOptions): Promise<string>;
  /** `docker commit` of a stopped container into a tagged image; resolves to its id. */
  imageCommit(container: string, options: CommitOptions): Promise<string>;

  networkCreate(options: NetworkCreateOptions): Promise<string>;
  networkInspect(nameOrId: string): Promise<NetworkInfo | undefined>;
  networkConnect(
    network: string,
    container: string,
    options?: { aliases?: readonly string[] },
  ): Promise<void>;
  networkRemove(nameOrId: string): Promise<void>;
  networkList(filter: LabelFilter): Promise<NetworkInfo[]>;

  /** Resolves to the new container's id. */
  containerCreate(spec: ContainerSpec): Promise<string>;
  /**
   * Copies files built in memory into `destDir` (which must exist) of a created or running
   * container, via a tar stream on the docker CLI's stdin: the bytes never touch host disk.
   */
  containerCopyIn(container: string, destDir: string, files: readonly InMemoryFile[]): Promise<void>;
  /**
   * Extracts a tar (as `containerCopyOut` returns it) into `destDir` of a container; entries keep
   * the uid/gid of their headers.
   */
  containerCopyInArchive(container: string, destDir: string, tar: Buffer): Promise<void>;
  /**
   * `docker cp CONTAINER:PATH -`: the file or directory at `path` as a tar (its top entry named
   * after the path's last segment), in memory. Rejects with an EngineError (isNotFound) when the
   * path does not exist.
   */
  containerCopyOut(container: string, path: string): Promise<Buffer>;
  /**
   * Streams `path` of one container (running or stopped) into `destDir` of another, never held
   * in memory; resolves to the tar bytes copied. Past `maxBytes` (a tar counts a sparse file in
   * full) both ends are stopped and it rejects with a CopyTooLargeError; what was extracted
   * until then stays. A missing path rejects like containerCopyOut.
   */
  containerCopyBetween(
    from: string,
    path: string,
    to: string,
    destDir: string,
    options: { maxBytes: number },
  ): Promise<number>;
  containerStart(container: string): Promise<void>;
  containerRename(container: string, newName: string): Promise<void>;
  /** `docker stop -t N`: SIGTERM, SIGKILL after N seconds (0: at once); resolves once stopped. */
  containerStop(container: string, options: { graceSeconds: number }): Promise<void>;
  /** Sends a signal (e.g. "HUP" to make a sidecar reload its config) to the container's PID 1. */
  containerKill(container: string, signal: string): Promise<void>;
  containerExec(container: string, command: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  containerInspect(nameOrId: string): Promise<ContainerInfo | undefined>;
  /** `rm -f` with its anonymous volumes; a missing container is not an error. */
  containerRemove(nameOrId: string): Promise<void>;
  containerList(filter: LabelFilter): Promise<ContainerInfo[]>;
}
