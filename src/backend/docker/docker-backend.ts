import type { BottleCa } from "../../lib/tls/ca.ts";
import { UserError } from "../../lib/user-error.ts";
import type { BottlePlan } from "../../plan/bottle-plan.ts";
import { BottleBackend, type LaunchControl, type PrepareOptions } from "../backend.ts";
import type { DockerEngine } from "./engine/engine.ts";
import { type LaunchedBottle, launchDocker } from "./launch.ts";
import { type DockerBottlePlan, type ImageRefs, prepareDocker, sidecarWriter } from "./prepare.ts";
import { provisionCa } from "./provision/ca.ts";
import { provisionPrompt } from "./provision/prompt.ts";
import { provisionSkills } from "./provision/skills.ts";
import { DOCKER_SIDECARS } from "./sidecars/index.ts";
import type { DockerSidecar } from "./sidecars/sidecar.ts";

export interface DockerLaunched extends LaunchedBottle {
  ca: BottleCa;
  log: (line: string) => void;
}

export interface DockerBackendOptions {
  engine: DockerEngine;
  images: ImageRefs;
  /** Host dir under which each instance gets a log dir (the egress audit log). */
  logRoot: string;
  /** The agent's OCI runtime (isolation.ts); absent: the engine's default. */
  runtime?: string;
  /** Generates the per-bottle CA (in memory). */
  generateCa: () => Promise<BottleCa>;
  /** Default: every sidecar this build has (sidecars/index.ts). */
  sidecars?: readonly DockerSidecar[];
}

/** The Docker backend: a thin façade over prepare, launch and provision/. */
export class DockerBottleBackend extends BottleBackend<DockerBottlePlan, DockerLaunched> {
  readonly #options: DockerBackendOptions;
  readonly #sidecars: readonly DockerSidecar[];

  constructor(options: DockerBackendOptions) {
    super();
    this.#options = options;
    this.#sidecars = options.sidecars ?? DOCKER_SIDECARS;
  }

  prepare(plan: BottlePlan, options: PrepareOptions): DockerBottlePlan {
    refuseUnbuiltSidecars(plan, this.#sidecars);
    return prepareDocker({
      plan,
      instance: options.instance,
      images: this.#options.images,
      answers: options.answers,
      owner: options.owner,
      logDir: `${this.#options.logRoot}/${options.instance}`,
      hostUser: sidecarWriter({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
      ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
    });
  }

  async launch(prepared: DockerBottlePlan, control: LaunchControl): Promise<DockerLaunched> {
    const ca = await this.#options.generateCa();
    const launched = await launchDocker(this.#options.engine, prepared, {
      ca,
      log: control.log,
      sidecars: this.#sidecars,
      ...(control.signal ? { signal: control.signal } : {}),
    });
    return Object.assign(launched, { ca, log: control.log });
  }

  protected override async provisionCa(_prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    provisionCa(launched.ca, launched.log);
  }

  protected async provisionPrompt(prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await provisionPrompt(this.#options.engine, launched.agentContainer, prepared.plan.agent.prompt);
  }

  protected async provisionSkills(prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await provisionSkills(this.#options.engine, launched.agentContainer, prepared.plan.agent.skills);
  }

  protected override async provisionGit(prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await this.#provisionSidecar("git-gate", prepared, launched);
  }

  protected override async provisionCredProxy(
    prepared: DockerBottlePlan,
    launched: DockerLaunched,
  ): Promise<void> {
    await this.#provisionSidecar("cred-proxy", prepared, launched);
  }

  protected override async provisionSupervise(
    prepared: DockerBottlePlan,
    launched: DockerLaunched,
  ): Promise<void> {
    await this.#provisionSidecar("supervise", prepared, launched);
  }

  async #provisionSidecar(
    role: DockerSidecar["role"],
    prepared: DockerBottlePlan,
    launched: DockerLaunched,
  ): Promise<void> {
    const sidecar = this.#sidecars.find((candidate) => candidate.role === role);
    if (!sidecar?.enabled(prepared.plan) || !sidecar.provision) return;
    await sidecar.provision({
      engine: this.#options.engine,
      agent: launched.agentContainer,
      plan: prepared.plan,
      docker: prepared,
    });
  }
}

/**
 * A bottle that declares a sidecar this build cannot start is refused: the agent would lack a
 * path the user asked for, or worse, look for it elsewhere.
 */
function refuseUnbuiltSidecars(plan: BottlePlan, sidecars: readonly DockerSidecar[]): void {
  const has = (role: DockerSidecar["role"]) => sidecars.some((sidecar) => sidecar.role === role);
  const missing = [
    ...(plan.gitRemotes.length && !has("git-gate") ? ["`git` (git-gate)"] : []),
    ...(plan.credProxy.routes.length && !has("cred-proxy") ? ["`cred_proxy.routes` (cred-proxy)"] : []),
    ...(plan.supervise.enabled && !has("supervise") ? ["`supervise: true`"] : []),
  ];
  if (missing.length) {
    throw new UserError(
      `bottle \`${plan.bottle.name}\` declares ${missing.join(", ")}, which this build cannot run yet; remove those keys from ${plan.bottle.file} to start without them`,
      { code: "E_UNSUPPORTED" },
    );
  }
}
