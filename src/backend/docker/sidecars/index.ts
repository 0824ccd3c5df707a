import { credProxySidecar } from "./cred-proxy.ts";
import { gitGateSidecar } from "./git-gate.ts";
import type { DockerSidecar } from "./sidecar.ts";
import { superviseSidecar } from "./supervise.ts";

/** The sidecars this build can start beside the egress proxy; one line per sidecar module. */
export const DOCKER_SIDECARS: readonly DockerSidecar[] = [credProxySidecar, gitGateSidecar, superviseSidecar];
