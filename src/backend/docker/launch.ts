import { mkdirSync } from "node:fs";
import { stringify } from "yaml";
import { EGRESS } from "../../contracts/egress-proxy.ts";
import { egressLogDir } from "../../lib/home-layout.ts";
import { giveDirTo } from "../../lib/host-files.ts";
import type { BottleCa } from "../../lib/tls/ca.ts";
import { renderEgressConfig } from "../../plan/egress-config.ts";
import { launchingAgentName } from "../instance.ts";
import { createContainer, waitReady } from "./container-steps.ts";
import type { DockerEngine, NetworkCreateOptions } from "./engine/engine.ts";
import { capabilityImageTag } from "./images.ts";
import { listeningCheck } from "./listening-probe.ts";
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
  /** Sidecars beside the egress proxy; those the plan enables are started. */
  sidecars: readonly DockerSidecar[];
}

/** A launched bottle. Disposing it tears everything down in reverse order of creation. */
export interface LaunchedBottle extends AsyncDisposable {
  readonly instance: string;
  readonly agentContainer: string;
  readonly internalCidr: string;
}

/**
 * docs/architecture.md, "Launch sequence", steps 3–6: networks, egress proxy (healthy), agent, CA.
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
  // Only the egress proxy joins the egress network, just before it starts: creating it (the
  // slower of the two, with its NAT rules) overlaps the internal network and the containers'
  // creation. It is awaited on every path, so teardown never races its creation.
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
    step("starting egress-proxy");
    const config = renderEgressConfig(docker.plan, { internalCidr });
    const egressLogs = egressLogDir(docker.logDir);
    mkdirSync(egressLogs, { recursive: true, mode: 0o700 });
    giveDirTo(egressLogs, docker.hostUser);
    await createContainer(engine, stack, docker.egressProxy);
    await egressNetwork;
    await engine.networkConnect(networks.egress, docker.egressProxy.name);
    // The CA key goes from memory into this container only; it is never written to host disk.
    const [uid, gid] = (docker.egressProxy.user ?? "0:0").split(":").map(Number) as [number, number];
    await engine.containerCopyIn(docker.egressProxy.name, "/", [
      { path: EGRESS.configFile.slice(1), content: stringify(config), mode: 0o600, uid, gid },
      { path: EGRESS.caCert.slice(1), content: options.ca.certPem, mode: 0o644, uid, gid },
      { path: EGRESS.caKey.slice(1), content: options.ca.keyPem, mode: 0o600, uid, gid },
    ]);
    await engine.containerStart(docker.egressProxy.name);
    await waitReady(engine, docker.egressProxy.name, listeningCheck(EGRESS.healthPort), {
      signal: options.signal,
      timeoutMs: options.healthTimeoutMs,
    });

    const sidecars = options.sidecars.filter((sidecar) => sidecar.enabled(docker.plan));
    if (sidecars.length === 0) return;
    step(`starting ${sidecars.map((sidecar) => sidecar.role).join(", ")}`);
    // Sidecars get the CA certificate only: the key stays with the egress proxy.
    const ca = { certPem: options.ca.certPem, sha256Fingerprint: options.ca.sha256Fingerprint };
    const context = { engine, stack, docker, ca, log: options.log, signal: options.signal };
    await allSettledOrThrow(sidecars.map((sidecar) => sidecar.start(context)));
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
    internalCidr,
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
