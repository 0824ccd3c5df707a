import { UserError } from "../../cli/user-error.ts";
import type { BottleCa } from "../../lib/tls/ca.ts";
import type { BottlePlan } from "../../plan/bottle-plan.ts";
import { BottleBackend, type LaunchControl, type PrepareOptions } from "../backend.ts";
import type { DockerEngine } from "./engine.ts";
import { type LaunchedBottle, launchDocker } from "./launch.ts";
import { type DockerBottlePlan, type ImageRefs, prepareDocker } from "./prepare.ts";
import { provisionCa } from "./provision/ca.ts";
import { provisionPrompt } from "./provision/prompt.ts";
import { provisionSkills } from "./provision/skills.ts";

export interface DockerLaunched extends LaunchedBottle {
  ca: BottleCa;
  log: (line: string) => void;
}

export interface DockerBackendOptions {
  engine: DockerEngine;
  images: ImageRefs;
  /** Host dir under which each instance gets a log dir (the egress audit log). */
  logRoot: string;
  runtime?: string;
  /** Generates the per-bottle CA (in memory). */
  generateCa: () => Promise<BottleCa>;
}

/** The Docker backend: a thin façade over prepare, launch and provision/. */
export class DockerBottleBackend extends BottleBackend<DockerBottlePlan, DockerLaunched> {
  readonly #options: DockerBackendOptions;

  constructor(options: DockerBackendOptions) {
    super();
    this.#options = options;
  }

  prepare(plan: BottlePlan, options: PrepareOptions): DockerBottlePlan {
    refuseUnbuiltSidecars(plan);
    return prepareDocker({
      plan,
      instance: options.instance,
      images: this.#options.images,
      answers: options.answers,
      owner: options.owner,
      logDir: `${this.#options.logRoot}/${options.instance}`,
      hostUser: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
      ...(this.#options.runtime ? { runtime: this.#options.runtime } : {}),
    });
  }

  async launch(prepared: DockerBottlePlan, control: LaunchControl): Promise<DockerLaunched> {
    const ca = await this.#options.generateCa();
    const launched = await launchDocker(this.#options.engine, prepared, {
      ca,
      log: control.log,
      ...(control.signal ? { signal: control.signal } : {}),
    });
    return Object.assign(launched, { ca, log: control.log });
  }

  protected override async provisionCa(_prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await provisionCa(this.#options.engine, launched.agentContainer, launched.ca, launched.log);
  }

  protected async provisionPrompt(prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await provisionPrompt(this.#options.engine, launched.agentContainer, prepared.plan.agent.prompt);
  }

  protected async provisionSkills(prepared: DockerBottlePlan, launched: DockerLaunched): Promise<void> {
    await provisionSkills(this.#options.engine, launched.agentContainer, prepared.plan.agent.skills);
  }
}

/**
 * Until git-gate, cred-proxy and supervise ship, a bottle that declares them cannot start: the
 * agent would lack a path the user asked for, or worse, look for it elsewhere. Refuse and say so.
 */
function refuseUnbuiltSidecars(plan: BottlePlan): void {
  const missing = [
    ...(plan.gitRemotes.length ? ["`git` (git-gate)"] : []),
    ...(plan.credProxy.routes.length ? ["`cred_proxy.routes` (cred-proxy)"] : []),
    ...(plan.supervise.enabled ? ["`supervise: true`"] : []),
  ];
  if (missing.length) {
    throw new UserError(
      `bottle \`${plan.bottle.name}\` declares ${missing.join(", ")}, which this build cannot run yet; remove those keys from ${plan.bottle.file} to start without them`,
      { code: "E_UNSUPPORTED" },
    );
  }
}
