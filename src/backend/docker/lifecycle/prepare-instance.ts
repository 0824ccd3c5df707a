import { UserError } from "../../../lib/user-error.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import {
  type DockerBottlePlan,
  type ImageRefs,
  type Ownership,
  prepareDocker,
  sidecarWriter,
} from "../prepare.ts";
import { DOCKER_SIDECARS } from "../sidecars/index.ts";
import type { DockerSidecar } from "../sidecars/sidecar.ts";

export interface PrepareInstanceInput {
  plan: BottlePlan;
  instance: string;
  images: ImageRefs;
  /** Answers to the manifest's `?prompt` env entries, asked before prepare. */
  answers: Readonly<Record<string, string>>;
  owner: Ownership;
  /** Host dir under which each instance gets a log dir (`<home>/logs`). */
  logRoot: string;
  /** The agent's OCI runtime (isolation.ts); absent: the engine's default. */
  runtime?: string | undefined;
}

/**
 * The prepare step of launch and of a capability's replacement: the bottle's specs and names,
 * from its plan (prepare.ts), the sidecar writer being this process's user. Pure but for the
 * refusal of a sidecar this build cannot start: what `--dry-run` shows is exactly what launch does.
 */
export function prepareInstance(input: PrepareInstanceInput): DockerBottlePlan {
  refuseUnbuiltSidecars(input.plan, DOCKER_SIDECARS);
  return prepareDocker({
    plan: input.plan,
    instance: input.instance,
    images: input.images,
    answers: input.answers,
    owner: input.owner,
    logDir: `${input.logRoot}/${input.instance}`,
    hostUser: sidecarWriter({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
    ...(input.runtime ? { runtime: input.runtime } : {}),
  });
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
