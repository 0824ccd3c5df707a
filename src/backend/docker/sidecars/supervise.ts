import { rmSync } from "node:fs";
import { join } from "node:path";
import { initialCapabilityDockerfile } from "../../../contracts/capability-dockerfile.ts";
import { QUEUE_DIRS, SUPERVISE } from "../../../contracts/supervise.ts";
import {
  type CurrentConfig,
  currentConfigFiles,
  readCurrentConfig,
  writeCurrentConfig,
} from "../../../contracts/supervise-current-config.ts";
import { ProposalQueue } from "../../../contracts/supervise-queue.ts";
import { giveDirTo } from "../../../lib/host-files.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";
import { renderCredProxyRoutes } from "../../../plan/cred-proxy-routes.ts";
import { AGENT_USER, AGENT_WORKDIR } from "../agent-env.ts";
import { createContainer, waitReady } from "../container-steps.ts";
import type { ContainerSpec } from "../engine/engine.ts";
import { listeningCheck } from "../listening-probe.ts";
import { type DockerBottlePlan, NO_OUTSIDE_DNS, sidecarBase } from "../prepare.ts";
import { copyToAgent } from "../provision/current-config.ts";
import { type DockerSidecar, sidecarHealthcheck } from "./sidecar.ts";

function dirsOf(docker: DockerBottlePlan): NonNullable<DockerBottlePlan["supervise"]> {
  if (docker.supervise === undefined) throw new Error("supervise: the plan has no supervise dirs");
  return docker.supervise;
}

/** The policy supervise may change, as the bottle starts. */
function initialConfig(plan: BottlePlan, agentImage: string): CurrentConfig {
  return {
    allowlist: [...plan.egress.allowlist],
    ...(plan.credProxy.routes.length ? { routes: renderCredProxyRoutes(plan) } : {}),
    dockerfile: initialCapabilityDockerfile(agentImage),
  };
}

function spec(docker: DockerBottlePlan): ContainerSpec & { name: string } {
  const dirs = dirsOf(docker);
  return {
    ...sidecarBase(docker, "supervise"),
    ...NO_OUTSIDE_DNS,
    networkAliases: [SUPERVISE.alias],
    hostname: SUPERVISE.alias,
    // The CLI's uid (never root: sidecarWriter), so the operator can read and move proposal files.
    user: `${docker.hostUser.uid}:${docker.hostUser.gid}`,
    command: ["supervise", "--instance", docker.instance, "--port", String(SUPERVISE.port)],
    mounts: [
      { source: dirs.queue, target: SUPERVISE.queueMount },
      { source: dirs.currentConfig, target: SUPERVISE.currentConfigMount, readOnly: true },
    ],
    // Liveness only, at a slow interval; launch polls the same cheap check (no node per probe).
    healthcheck: sidecarHealthcheck(listeningCheck(SUPERVISE.port)),
  };
}

/**
 * supervise (docs/supervise.md, G5): an MCP server on the internal network only (no egress
 * network), alias `supervise`, port 9100. Its queue is a host dir the operator's `dashboard`,
 * `approve` and `reject` read; the current-config dir shows the agent the policy it may ask to
 * change. Both dirs go when the bottle is torn down; the audit log stays in logs/<instance>/.
 */
export const superviseSidecar: DockerSidecar = {
  role: "supervise",
  enabled: (plan) => plan.supervise.enabled,
  spec,
  async start({ engine, stack, docker, signal }) {
    const dirs = dirsOf(docker);
    stack.defer(() => {
      rmSync(dirs.queue, { recursive: true, force: true });
      rmSync(dirs.currentConfig, { recursive: true, force: true });
    });
    new ProposalQueue(dirs.queue).ensure();
    for (const sub of [dirs.queue, ...Object.values(QUEUE_DIRS).map((name) => join(dirs.queue, name))])
      giveDirTo(sub, docker.hostUser);
    writeCurrentConfig(dirs.currentConfig, initialConfig(docker.plan, docker.agent.image));
    const container = spec(docker);
    await createContainer(engine, stack, container);
    await engine.containerStart(container.name);
    await waitReady(engine, container.name, listeningCheck(SUPERVISE.port), { signal });
  },
  async provision({ engine, agent, docker }) {
    // What the host holds: the launch's policy, or what was approved since (a capability's new agent).
    await copyToAgent(engine, agent, currentConfigFiles(readCurrentConfig(dirsOf(docker).currentConfig)));
    await engine.containerExec(
      agent,
      [
        "claude",
        "mcp",
        "add",
        "--scope",
        "user",
        "--transport",
        "http",
        SUPERVISE.alias,
        `http://${SUPERVISE.alias}:${SUPERVISE.port}${SUPERVISE.mcpPath}`,
      ],
      { user: AGENT_USER, workdir: AGENT_WORKDIR, check: true },
    );
  },
};
