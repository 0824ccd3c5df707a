import { credProxySidecar } from "./cred-proxy.ts";
import { egressProxySidecar } from "./egress-proxy.ts";
import { gitGateSidecar } from "./git-gate.ts";
import type { DockerSidecar } from "./sidecar.ts";
import { superviseSidecar } from "./supervise.ts";

/**
 * The sidecars this build can start; one line per sidecar module. The egress proxy comes first
 * (`first`: started alone, healthy before the others); the rest start in parallel, in this order
 * in the progress line.
 */
export const DOCKER_SIDECARS: readonly DockerSidecar[] = [
  egressProxySidecar,
  credProxySidecar,
  gitGateSidecar,
  superviseSidecar,
];
