import { readFile } from "node:fs/promises";
import { CRED_PROXY } from "../../../contracts/cred-proxy.ts";
import { EGRESS } from "../../../contracts/egress-proxy.ts";
import { credProxyLogDir } from "../../../lib/home-layout.ts";
import { shareDirWithGroup } from "../../../lib/host-files.ts";
import { credProxyRoutesText, credProxyTokenEnv } from "../../../plan/cred-proxy-routes.ts";

import { createContainer, waitReady } from "../container-steps.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { listeningCheck } from "../listening-probe.ts";
import { type DockerBottlePlan, NO_OUTSIDE_DNS, sidecarBase } from "../prepare.ts";
import { provisionCredProxy } from "../provision/cred-proxy.ts";
import { type DockerSidecar, healthzCheck, sidecarHealthcheck } from "./sidecar.ts";

/**
 * The container spec without the token values: those are added by `start` only, so a spec can be
 * printed or compared without revealing anything.
 */
function spec(docker: DockerBottlePlan): ContainerSpec & { name: string } {
  return {
    ...sidecarBase(docker, "cred-proxy"),
    ...NO_OUTSIDE_DNS,
    networkAliases: [CRED_PROXY.alias],
    hostname: CRED_PROXY.alias,
    command: [
      "cred-proxy",
      "--routes",
      CRED_PROXY.routesFile,
      "--listen",
      `0.0.0.0:${CRED_PROXY.port}`,
      "--health",
      `127.0.0.1:${CRED_PROXY.healthPort}`,
      "--ca",
      CRED_PROXY.caCert,
      "--audit",
      CRED_PROXY.auditFile,
      "--audit-max-bytes",
      String(docker.plan.limits.auditBytes),
    ],
    // It writes its audit dir through the group the host shares it with (shareDirWithGroup).
    groupAdd: [String(docker.hostUser.gid)],
    mounts: [{ source: credProxyLogDir(docker.logDir), target: CRED_PROXY.auditDir }],
    // Every upstream call tunnels through the egress proxy (allowlist, DLP, known tokens).
    env: { HTTPS_PROXY: `http://${EGRESS.alias}:${EGRESS.port}` },
    healthcheck: sidecarHealthcheck(healthzCheck(CRED_PROXY.healthPort)),
  };
}

/**
 * cred-proxy (docs/cred-proxy.md): on the internal network only, alias `cred-proxy`, port 9099.
 * Token values reach this container's environment at create time and nothing else; routes.json
 * (no values, no host variable names) and the per-bottle CA certificate (never its key) are
 * copied in before it starts.
 */
export const credProxySidecar: DockerSidecar = {
  role: "cred-proxy",
  enabled: (plan) => plan.credProxy.routes.length > 0,
  spec,
  async start({ engine, stack, docker, ca, signal }) {
    const base = spec(docker);
    // cred-proxy verifies passthrough upstreams itself (the proxy only tunnels them), so it
    // trusts the bottle's egress.upstream_ca beside the per-bottle CA.
    const upstreamCas = await Promise.all(
      docker.plan.egress.upstreamCa.map((file) => readFile(file, "utf8")),
    );
    const trusted = [ca.certPem, ...upstreamCas].join("\n");
    shareDirWithGroup(credProxyLogDir(docker.logDir), docker.hostUser.gid);
    await createContainer(engine, stack, {
      ...base,
      env: { ...base.env, ...credProxyTokenEnv(docker.plan) },
    });
    await engine.containerCopyIn(base.name, "/", [
      {
        path: CRED_PROXY.routesFile.slice(1),
        content: credProxyRoutesText(docker.plan),
        mode: CRED_PROXY.routesMode,
        uid: CRED_PROXY.uid,
        gid: CRED_PROXY.gid,
      },
      {
        path: CRED_PROXY.caCert.slice(1),
        content: trusted,
        mode: 0o644,
        uid: CRED_PROXY.uid,
        gid: CRED_PROXY.gid,
      },
    ]);
    await engine.containerStart(base.name);
    await waitReady(engine, base.name, listeningCheck(CRED_PROXY.healthPort), { signal });
  },
  provision: ({ engine, agent, plan }) => provisionCredProxy(engine, agent, plan),
};
