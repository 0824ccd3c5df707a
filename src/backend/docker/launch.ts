import { stringify } from "yaml";
import type { BottleCa } from "../../lib/tls/ca.ts";
import { EGRESS, renderEgressConfig } from "../../plan/egress-config.ts";
import { AGENT_CA_CERT } from "./agent-env.ts";
import type { ContainerSpec, DockerEngine } from "./engine.ts";
import type { DockerBottlePlan } from "./prepare.ts";
import { labelsFor } from "./prepare.ts";

export interface LaunchOptions {
  ca: BottleCa;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
  /** Aborted by SIGINT/SIGTERM: launch stops at the next step and tears down what exists. */
  signal?: AbortSignal;
  /** How long a sidecar may take to become healthy. */
  healthTimeoutMs?: number;
}

/** A launched bottle. Disposing it tears everything down in reverse order of creation. */
export interface LaunchedBottle extends AsyncDisposable {
  readonly instance: string;
  readonly agentContainer: string;
  readonly internalCidr: string;
}

/**
 * DESIGN.md §3 steps 3–6: networks, egress proxy (healthy), agent, CA. Every resource is pushed
 * on a disposal stack the moment it exists, so a failure or an abort at any step removes exactly
 * what was made, newest first.
 */
export async function launchDocker(
  engine: DockerEngine,
  docker: DockerBottlePlan,
  options: LaunchOptions,
): Promise<LaunchedBottle> {
  await using stack = new AsyncDisposableStack();
  const step = (message: string) => {
    options.signal?.throwIfAborted();
    options.log(message);
  };
  const { networks, instance } = docker;

  step("creating networks");
  await engine.networkCreate({
    name: networks.internal,
    internal: true,
    labels: labelsFor(instance, "internal-network"),
  });
  stack.defer(() => engine.networkRemove(networks.internal));
  await engine.networkCreate({
    name: networks.egress,
    internal: false,
    labels: labelsFor(instance, "egress-network"),
  });
  stack.defer(() => engine.networkRemove(networks.egress));
  const internalCidr = (await engine.networkInspect(networks.internal))?.subnets[0];
  if (!internalCidr)
    throw new Error(`network ${networks.internal} has no subnet; is the Docker engine healthy?`);

  step("starting egress-proxy");
  const config = renderEgressConfig(docker.plan, { internalCidr });
  await createContainer(engine, stack, docker.egressProxy);
  await engine.networkConnect(networks.egress, docker.egressProxy.name);
  // The CA key goes from memory into this container only; it is never written to host disk.
  const [uid, gid] = (docker.egressProxy.user ?? "0:0").split(":").map(Number) as [number, number];
  await engine.containerCopyIn(docker.egressProxy.name, "/", [
    { path: EGRESS.configFile.slice(1), content: stringify(config), mode: 0o600, uid, gid },
    { path: EGRESS.caCert.slice(1), content: options.ca.certPem, mode: 0o644, uid, gid },
    { path: EGRESS.caKey.slice(1), content: options.ca.keyPem, mode: 0o600, uid, gid },
  ]);
  await engine.containerStart(docker.egressProxy.name);
  await waitHealthy(engine, docker.egressProxy.name, options);

  step("starting the agent");
  await createContainer(engine, stack, docker.agent);
  await engine.containerCopyIn(docker.agent.name, "/", [
    { path: AGENT_CA_CERT.slice(1), content: options.ca.certPem, mode: 0o644 },
  ]);
  await engine.containerStart(docker.agent.name);

  const owned = stack.move();
  return {
    instance,
    agentContainer: docker.agent.name,
    internalCidr,
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

async function createContainer(
  engine: DockerEngine,
  stack: AsyncDisposableStack,
  spec: ContainerSpec & { name: string },
): Promise<void> {
  // Registered before the call: a create that fails half-way may still leave a container.
  stack.defer(() => engine.containerRemove(spec.name));
  await engine.containerCreate(spec);
}

async function waitHealthy(engine: DockerEngine, name: string, options: LaunchOptions): Promise<void> {
  const deadline = Date.now() + (options.healthTimeoutMs ?? 60_000);
  for (;;) {
    options.signal?.throwIfAborted();
    const info = await engine.containerInspect(name);
    if (info?.health === "healthy") return;
    if (!info?.running || info.health === "unhealthy") {
      throw new Error(
        `${name} did not become healthy (status ${info?.status ?? "gone"}, exit code ${info?.exitCode ?? "?"}, health ${info?.health ?? "?"}); its logs: docker logs ${name}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(
        `${name} was not healthy within ${Math.round((options.healthTimeoutMs ?? 60_000) / 1000)} s; its logs: docker logs ${name}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
