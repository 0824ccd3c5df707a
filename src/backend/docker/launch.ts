import type { BottleCa } from "../../lib/tls/ca.ts";
import { launchingAgentName } from "../instance.ts";
import { createContainer } from "./container-steps.ts";
import type { DockerEngine, NetworkCreateOptions } from "./engine/engine.ts";
import { capabilityImageTag } from "./images.ts";
import type { DockerBottlePlan } from "./prepare.ts";
import { labelsFor } from "./prepare.ts";
import { installAgentCa, updateCaCertificates } from "./provision/ca.ts";
import type { DockerSidecar } from "./sidecars/sidecar.ts";

export interface LaunchOptions {
  ca: BottleCa;
  /** Progress lines for the user (stderr). */
  log: (line: string) => void;
  /** Aborted by SIGINT/SIGTERM: launch stops at the next step and tears down what exists. */
  signal?: AbortSignal;
  /** How long a sidecar may take to become healthy. */
  healthTimeoutMs?: number;
  /** The sidecars (sidecars/index.ts); those the plan enables are started, `first` ones first. */
  sidecars: readonly DockerSidecar[];
}

/** A launched bottle. Disposing it tears everything down in reverse order of creation. */
export interface LaunchedBottle extends AsyncDisposable {
  readonly instance: string;
  readonly agentContainer: string;
}

/**
 * docs/docker-backend.md, steps 1–5: networks, egress proxy (healthy), the other sidecars
 * (healthy), agent (trusting the CA).
 * Every resource is pushed on a disposal stack the moment it exists, so a failure or an abort at
 * any step removes exactly what was made, newest first.
 */
export async function launchDocker(
  engine: DockerEngine,
  docker: DockerBottlePlan,
  options: LaunchOptions,
): Promise<LaunchedBottle> {
  await using stack = new AsyncDisposableStack();
  // Last out: the agent image a capability approval may build for this bottle (replace-agent.ts).
  stack.defer(() => engine.imageRemove(capabilityImageTag(docker.instance)));
  const step = (message: string) => {
    options.signal?.throwIfAborted();
    options.log(message);
  };
  const { networks, instance } = docker;

  step("creating networks");
  // Only sidecars join the egress network (the egress proxy, git-gate), just before they start:
  // creating it (the slower of the two, with its NAT rules) overlaps the internal network and the
  // containers' creation. It is awaited on every path, so teardown never races its creation.
  const egressNetwork = createNetwork(engine, stack, {
    name: networks.egress,
    internal: false,
    labels: labelsFor(instance, "egress-network"),
  });
  egressNetwork.catch(() => {}); // awaited below; this only marks a rejection as handled
  let internalCidr: string;
  try {
    await createNetwork(engine, stack, {
      name: networks.internal,
      internal: true,
      labels: labelsFor(instance, "internal-network"),
    });
    const subnet = (await engine.networkInspect(networks.internal))?.subnets[0];
    if (!subnet) throw new Error(`network ${networks.internal} has no subnet; is the Docker engine healthy?`);
    internalCidr = subnet;
  } catch (error) {
    await egressNetwork.catch(() => {});
    throw error;
  }

  // Two independent branches. The agent container only idles (and learns to trust the CA) until
  // provisioning; Claude Code starts after both branches, so every sidecar is healthy first.
  const sidecarBranch = async () => {
    const enabled = options.sidecars.filter((sidecar) => sidecar.enabled(docker.plan));
    // Sidecars get the CA certificate only: the key goes to the one that holds it (the proxy).
    const certOnly = { certPem: options.ca.certPem, sha256Fingerprint: options.ca.sha256Fingerprint };
    const start = (sidecar: DockerSidecar) =>
      sidecar.start({
        engine,
        stack,
        docker,
        ca: sidecar.holdsCaKey ? options.ca : certOnly,
        internalCidr,
        egressNetwork,
        log: options.log,
        signal: options.signal,
        healthTimeoutMs: options.healthTimeoutMs,
      });
    // The egress proxy first, alone and healthy: the others' upstream traffic goes through it.
    for (const sidecar of enabled.filter((candidate) => candidate.first)) {
      step(`starting ${sidecar.role}`);
      await start(sidecar);
    }
    const rest = enabled.filter((sidecar) => !sidecar.first);
    if (rest.length === 0) return;
    step(`starting ${rest.map((sidecar) => sidecar.role).join(", ")}`);
    await allSettledOrThrow(rest.map(start));
  };
  const agentBranch = () =>
    startAgentContainer(
      engine,
      stack,
      { ...docker.agent, name: launchingAgentName(instance) },
      options.ca.certPem,
    );
  await allSettledOrThrow([sidecarBranch(), agentBranch(), egressNetwork]);
  step("sidecars healthy; agent ready");

  const owned = stack.move();
  return {
    instance,
    agentContainer: launchingAgentName(instance),
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

/**
 * The agent container of a prepared bottle: created (its removal on the stack), made to trust
 * the per-bottle CA, started. Also how a capability approval starts the agent again on its new
 * image (replace-agent.ts).
 */
export async function startAgentContainer(
  engine: DockerEngine,
  stack: AsyncDisposableStack,
  agent: DockerBottlePlan["agent"],
  caCertPem: string,
): Promise<void> {
  await createContainer(engine, stack, agent);
  const installed = await installAgentCa(engine, agent.name, caCertPem);
  await engine.containerStart(agent.name);
  if (installed === "fallback") await updateCaCertificates(engine, agent.name);
}

async function createNetwork(
  engine: DockerEngine,
  stack: AsyncDisposableStack,
  options: NetworkCreateOptions,
): Promise<void> {
  stack.defer(() => engine.networkRemove(options.name));
  await engine.networkCreate(options);
}

/**
 * Waits for every branch, then fails with the first failure: a branch still creating resources
 * when another fails must finish registering them before the stack tears everything down.
 */
async function allSettledOrThrow(branches: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(branches);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}
