import { mkdirSync } from "node:fs";
import { stringify } from "yaml";
import { EGRESS } from "../../../contracts/egress-proxy.ts";
import { egressLogDir } from "../../../lib/home-layout.ts";
import { giveDirTo } from "../../../lib/host-files.ts";
import { hostGatewayEntries, renderEgressConfig, upstreamCaMounts } from "../../../plan/egress-config.ts";
import { createContainer, waitReady } from "../container-steps.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { listeningCheck } from "../listening-probe.ts";
import { type DockerBottlePlan, sidecarBase } from "../prepare.ts";
import { type DockerSidecar, healthzCheck, sidecarHealthcheck } from "./sidecar.ts";

function spec(docker: DockerBottlePlan): ContainerSpec & { name: string } {
  return {
    ...sidecarBase(docker, "egress-proxy"),
    network: docker.networks.internal,
    networkAliases: [EGRESS.alias],
    hostname: EGRESS.alias,
    user: `${docker.hostUser.uid}:${docker.hostUser.gid}`,
    command: ["egress-proxy", "--config", EGRESS.configFile],
    mounts: [
      { source: egressLogDir(docker.logDir), target: EGRESS.auditDir },
      ...upstreamCaMounts(docker.plan),
    ],
    extraHosts: hostGatewayEntries(docker.plan),
    healthcheck: sidecarHealthcheck(healthzCheck(EGRESS.healthPort)),
  };
}

/**
 * The egress proxy (docs/egress-proxy.md): every bottle has one, the agent's only way out. On the
 * internal network (alias `egress-proxy`) and the egress network, started first and alone: the
 * other sidecars' upstream traffic goes through it. It holds the per-bottle CA's key, copied from
 * memory into this container only and never written to host disk; its audit log is a host dir it
 * owns (logs/<instance>/egress/).
 */
export const egressProxySidecar: DockerSidecar = {
  role: "egress-proxy",
  first: true,
  holdsCaKey: true,
  enabled: () => true,
  spec,
  async start({ engine, stack, docker, ca, internalCidr, egressNetwork, signal, healthTimeoutMs }) {
    if (ca.keyPem === undefined) throw new Error("egress-proxy: launch passed no CA key");
    const config = renderEgressConfig(docker.plan, { internalCidr });
    const egressLogs = egressLogDir(docker.logDir);
    mkdirSync(egressLogs, { recursive: true, mode: 0o700 });
    giveDirTo(egressLogs, docker.hostUser);
    const container = spec(docker);
    await createContainer(engine, stack, container);
    await egressNetwork;
    await engine.networkConnect(docker.networks.egress, container.name);
    const [uid, gid] = (container.user ?? "0:0").split(":").map(Number) as [number, number];
    await engine.containerCopyIn(container.name, "/", [
      { path: EGRESS.configFile.slice(1), content: stringify(config), mode: 0o600, uid, gid },
      { path: EGRESS.caCert.slice(1), content: ca.certPem, mode: 0o644, uid, gid },
      { path: EGRESS.caKey.slice(1), content: ca.keyPem, mode: 0o600, uid, gid },
    ]);
    await engine.containerStart(container.name);
    await waitReady(engine, container.name, listeningCheck(EGRESS.healthPort), {
      signal,
      timeoutMs: healthTimeoutMs,
    });
  },
};
