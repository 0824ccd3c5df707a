import type { BottleCa } from "../../../lib/tls/ca.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import type { SidecarRole } from "../../instance.ts";
import type { ContainerSpec, DockerEngine } from "../engine/engine.ts";
import type { DockerBottlePlan } from "../prepare.ts";

interface SidecarLaunchContext {
  engine: DockerEngine;
  /** Register every resource's removal here before creating it (see container-steps.ts). */
  stack: AsyncDisposableStack;
  docker: DockerBottlePlan;
  /** The per-bottle CA. Sidecars get its certificate (to trust the proxy), never its key. */
  ca: Pick<BottleCa, "certPem" | "sha256Fingerprint">;
  log: (line: string) => void;
  signal?: AbortSignal | undefined;
}

interface SidecarProvisionContext {
  engine: DockerEngine;
  /** The agent container's name. */
  agent: string;
  plan: BottlePlan;
  docker: DockerBottlePlan;
}

/**
 * A sidecar started after the egress proxy and before the agent (docs/architecture.md, "Launch
 * sequence"). Each lives in its own module under sidecars/; launch starts the enabled ones in
 * parallel and waits until all are healthy, so names resolve on the agent's first call.
 */
export interface DockerSidecar {
  readonly role: Exclude<SidecarRole, "egress-proxy">;
  /** Whether this bottle needs the sidecar. Pure. */
  enabled(plan: BottlePlan): boolean;
  /** Its container spec, built on `sidecarBase` (prepare.ts). Pure. */
  spec(docker: DockerBottlePlan): ContainerSpec & { name: string };
  /** Creates, configures and starts it, healthy; registers removal on the stack first. */
  start(context: SidecarLaunchContext): Promise<void>;
  /** Configures the agent to use it, in the provision step. */
  provision?(context: SidecarProvisionContext): Promise<void>;
}
