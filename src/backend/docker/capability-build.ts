/**
 * The confined capability build (docs/supervise.md, "What an approval grants"). An approved
 * Dockerfile is not given to `docker build`: that would run its steps on the engine's default
 * network (the host, the LAN, the internet), with the operator's registry credentials and build
 * cache, with no limits. Instead its steps (capability-dockerfile.ts) run in one container made
 * like the agent: the bottle's internal network (the egress proxy is the only way out, with its
 * allowlist, DLP and SSRF checks, and the bottle's CA trusted), no DNS beyond the bottle, the
 * agent's runtime (gVisor), CPU, memory, pids and time limits. The container is then committed:
 * one new layer on the bottle's launch image, labelled for the instance so `stop` removes it.
 */
import { posix } from "node:path";
import { Writable } from "node:stream";
import {
  type CapabilityStep,
  expandWord,
  parseCapabilityDockerfile,
} from "../../contracts/capability-dockerfile.ts";
import { resourceName } from "../instance.ts";
import { proxyEnv } from "./agent-env.ts";
import { type ContainerSpec, type DockerEngine, LABEL_INSTANCE, LABEL_ROLE } from "./engine/engine.ts";
import { labelsFor } from "./prepare.ts";
import { installAgentCa, updateCaCertificates } from "./provision/ca.ts";

/** The image a bottle was launched with, by id: every capability of the bottle builds on it. */
export const LABEL_LAUNCH_IMAGE = "claude-bottle.launch-image";

/**
 * What root in a RUN step may do: install packages (apt drops to its own user, dpkg sets owners
 * and modes). Docker's default set without raw sockets, mknod, chroot and audit.
 */
const BUILD_CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"];

/** Lines of a failed step's output the failure reports. */
const TAIL_LINES = 20;

class CapabilityBuildError extends Error {
  override name = "CapabilityBuildError";
}

export interface CapabilityBuildInput {
  engine: DockerEngine;
  instance: string;
  dockerfile: string;
  /** Id of the bottle's launch image (what FROM names). */
  baseImageId: string;
  /** The agent's container spec: the build shares its network, DNS, runtime and process limits. */
  agent: ContainerSpec;
  caCertPem: string;
  tag: string;
  signal?: AbortSignal | undefined;
  log?: (line: string) => void;
  /** The bottle's limits.build: the build container's CPUs and memory, and the whole build's time. */
  limits: { cpus: number; memoryBytes: number; timeoutMs: number };
}

/** Runs the build; resolves to the new image's id. Nothing is left behind but that image. */
export async function buildCapability(input: CapabilityBuildInput): Promise<string> {
  const { engine, instance, agent } = input;
  const log = input.log ?? (() => {});
  const { limits } = input;
  const parsed = parseCapabilityDockerfile(input.dockerfile);
  if (!parsed.ok)
    throw new CapabilityBuildError(`the Dockerfile is not buildable: ${parsed.problems.join("; ")}`);
  const base = await engine.imageInspect(input.baseImageId);
  if (base === undefined)
    throw new CapabilityBuildError(
      `the bottle's launch image ${input.baseImageId} is gone; stop the bottle and start it again`,
    );

  const name = resourceName(instance, "agent-build");
  const deadline = Date.now() + limits.timeoutMs;
  const spec: ContainerSpec = {
    name,
    image: base.id,
    labels: labelsFor(instance, "agent-build"),
    ...pick(agent, ["network", "dns", "runtime", "pidsLimit", "ulimits", "securityOpt"]),
    init: true,
    capDrop: ["ALL"],
    capAdd: BUILD_CAPABILITIES,
    memoryBytes: limits.memoryBytes,
    cpus: limits.cpus,
    entrypoint: "sleep",
    command: ["infinity"],
  };
  await engine.containerRemove(name); // a build the CLI was killed in
  try {
    await engine.containerCreate(spec);
    const trust = await installAgentCa(engine, name, input.caCertPem);
    await engine.containerStart(name);
    if (trust === "fallback") await updateCaCertificates(engine, name);

    const env = new Map(base.config.env.map((entry) => splitEnv(entry)));
    const changed = new Map<string, string>();
    let workdir = base.config.workdir || "/";
    let user = base.config.user || "root";
    const steps = parsed.value.steps;
    for (const [index, step] of steps.entries()) {
      input.signal?.throwIfAborted();
      const at = `line ${step.line}`;
      const expand = (raw: string) => {
        const value = expandWord(raw, env);
        if (value === undefined) throw new CapabilityBuildError(`${at}: an unterminated quote or \${`);
        return value;
      };
      switch (step.kind) {
        case "env":
          for (const { key, raw } of step.pairs) {
            const value = expand(raw);
            env.set(key, value);
            changed.set(key, value);
          }
          break;
        case "user":
          user = expand(step.raw);
          break;
        case "workdir":
          workdir = posix.resolve(workdir, expand(step.raw));
          await engine.containerExec(name, ["mkdir", "-p", "--", workdir], { user: "0:0", check: true });
          break;
        case "run": {
          log(`step ${index + 1}/${steps.length} (${at}): RUN ${describe(step)}`);
          const output = new TailLines(TAIL_LINES);
          const remaining = deadline - Date.now();
          if (remaining <= 0) throw timedOut(limits.timeoutMs);
          const result = await engine
            .containerExec(name, "shell" in step ? ["/bin/sh", "-c", step.shell] : step.argv, {
              user,
              workdir,
              env: { ...proxyEnv(), ...Object.fromEntries(changed) },
              progress: output,
              timeoutMs: remaining,
              signal: input.signal,
            })
            .catch((error: unknown) => {
              if (input.signal?.aborted)
                throw new CapabilityBuildError("the build was aborted", { cause: error });
              if (Date.now() >= deadline) throw timedOut(limits.timeoutMs);
              throw error;
            });
          if (result.exitCode !== 0) {
            const tail = output.lines().join("\n");
            throw new CapabilityBuildError(
              `${at}: RUN ${describe(step)} exited with code ${result.exitCode}${tail ? `\n${tail}` : ""}`,
            );
          }
          break;
        }
      }
    }

    // Written into `docker commit --change` lines: only plain names and paths (a `\\` or `$` there
    // would be read again by the engine's Dockerfile parser).
    if (!/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(user))
      throw new CapabilityBuildError(`USER ${JSON.stringify(user)}: only a user name or id (and :group)`);
    if (!/^\/[A-Za-z0-9._/@%+=,-]*$/.test(workdir))
      throw new CapabilityBuildError(
        `WORKDIR ${JSON.stringify(workdir)}: only an absolute path of plain characters`,
      );
    await engine.containerStop(name, { graceSeconds: 0 });
    return await engine.imageCommit(name, {
      tag: input.tag,
      changes: [
        `USER ${user}`,
        `WORKDIR ${workdir}`,
        ...[...changed].map(([key, value]) => `ENV ${key}=${quoted(value)}`),
        `ENTRYPOINT ${JSON.stringify(base.config.entrypoint ?? [])}`,
        `CMD ${JSON.stringify(base.config.cmd ?? [])}`,
        `LABEL ${LABEL_INSTANCE}=${quoted(instance)} ${LABEL_ROLE}=agent-image ${LABEL_LAUNCH_IMAGE}=${quoted(base.id)}`,
      ],
    });
  } finally {
    await engine.containerRemove(name);
  }
}

function timedOut(limitMs: number): CapabilityBuildError {
  return new CapabilityBuildError(
    `the build ran longer than its limit of ${Math.round(limitMs / 60_000)} min`,
  );
}

function describe(step: Extract<CapabilityStep, { kind: "run" }>): string {
  const text = "shell" in step ? step.shell : JSON.stringify(step.argv);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** A Dockerfile word that reads back as `value`: no expansion, no split. */
function quoted(value: string): string {
  return `"${value.replace(/[\\"$]/g, (char) => `\\${char}`).replace(/\n/g, "\\n")}"`;
}

function splitEnv(entry: string): [string, string] {
  const at = entry.indexOf("=");
  return at === -1 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
}

function pick<T extends object, K extends keyof T>(object: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(
    keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]),
  ) as Pick<T, K>;
}

/** Keeps the last lines written to it (a step's output, for the failure message). */
class TailLines extends Writable {
  readonly #limit: number;
  #text = "";

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#text = (this.#text + chunk.toString("utf8"))
      .slice(-16_384)
      .split("\n")
      .slice(-(this.#limit + 1))
      .join("\n");
    callback();
  }

  lines(): string[] {
    return this.#text.split("\n").filter((line) => line.trim() !== "");
  }
}
