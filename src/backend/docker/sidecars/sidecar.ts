import type { BottleCa } from "../../../lib/tls/ca.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import type { SidecarRole } from "../../instance.ts";
import type { ContainerSpec, DockerEngine, HealthCheck } from "../engine/engine.ts";
import type { DockerBottlePlan } from "../prepare.ts";

interface SidecarLaunchContext {
  engine: DockerEngine;
  /** Register every resource's removal here before creating it (see container-steps.ts). */
  stack: AsyncDisposableStack;
  docker: DockerBottlePlan;
  /**
   * The per-bottle CA. Sidecars get its certificate (to trust the proxy); its key goes to the
   * sidecar that `holdsCaKey` only.
   */
  ca: Pick<BottleCa, "certPem" | "sha256Fingerprint"> & { keyPem?: string };
  /** The internal network's subnet (the egress proxy lets the agent reach sidecars through it). */
  internalCidr: string;
  /** Settles once the egress network exists: a sidecar that joins it awaits this first. */
  egressNetwork: Promise<void>;
  log: (line: string) => void;
  signal?: AbortSignal | undefined;
  /** How long the egress proxy may take to become healthy; default: waitReady's. */
  healthTimeoutMs?: number | undefined;
}

interface SidecarProvisionContext {
  engine: DockerEngine;
  /** The agent container's name. */
  agent: string;
  plan: BottlePlan;
  docker: DockerBottlePlan;
}

/**
 * A sidecar of the bottle (docs/docker-backend.md, steps 3 and 4). Each lives in its own module
 * under sidecars/. Launch starts those marked `first` one by one (the egress proxy: everything
 * else's way out), then the other enabled ones in parallel, and waits until all are healthy
 * before the agent runs, so names resolve on the agent's first call.
 */
export interface DockerSidecar {
  readonly role: SidecarRole;
  /** Started, healthy, before the others: they depend on it (the egress proxy). */
  readonly first?: true;
  /** Receives the per-bottle CA's key (the egress proxy, which intercepts TLS); no other does. */
  readonly holdsCaKey?: true;
  /** Whether this bottle needs the sidecar. Pure. */
  enabled(plan: BottlePlan): boolean;
  /** Its container spec, built on `sidecarBase` (prepare.ts). Pure. */
  spec(docker: DockerBottlePlan): ContainerSpec & { name: string };
  /** Creates, configures and starts it, healthy; registers removal on the stack first. */
  start(context: SidecarLaunchContext): Promise<void>;
  /** Configures the agent to use it, in the provision step. */
  provision?(context: SidecarProvisionContext): Promise<void>;
}

/**
 * A sidecar's healthcheck: liveness at a slow interval (launch waits for readiness on its own),
 * `command` run in the container.
 */
export function sidecarHealthcheck(command: string): HealthCheck {
  return { shellCommand: command, intervalMs: 10_000, timeoutMs: 3_000, retries: 3, startPeriodMs: 10_000 };
}

/** Asks a sidecar's /healthz on `port`, with the node the sidecar image has. */
export function healthzCheck(port: number): string {
  return `node -e "fetch('http://127.0.0.1:${port}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`;
}
