import { randomBytes } from "node:crypto";

/**
 * A running (or launching) bottle is an instance: `<agent>-<8 hex>`. Every container and network
 * of it carries the instance label, and its names derive from the id, so cleanup can find all of
 * it by label without guessing.
 */
export function newInstanceId(agent: string): string {
  return `${agent.slice(0, 40)}-${randomBytes(4).toString("hex")}`;
}

export const INSTANCE_ID = /^[a-z][a-z0-9-]*-[0-9a-f]{8}$/;

export type SidecarRole = "egress-proxy" | "cred-proxy" | "git-gate" | "supervise";
/** Roles of resources; the demo-* ones belong to `claude-bottle demo`'s stand-ins. */
export type ResourceRole =
  | "agent"
  /** The container a capability approval builds the new agent image in (capability-build.ts). */
  | "agent-build"
  | SidecarRole
  | "internal-network"
  | "egress-network"
  | "demo-api"
  | "demo-upstream";

/**
 * The agent container's name until its launch completed (provisioned, state saved). `cleanup`
 * reads it: a detached bottle whose agent still has this name was never finished, so once its
 * CLI is gone it is a leftover, however long its agent keeps idling.
 */
export function launchingAgentName(instance: string): string {
  return `${resourceName(instance, "agent")}-launching`;
}

/**
 * The old agent container while a capability approval replaces it (replace-agent.ts): stopped,
 * holding the home state the new agent receives, removed once it has.
 */
export function replacedAgentName(instance: string): string {
  return `${resourceName(instance, "agent")}-replaced`;
}

/** Names of an instance's Docker resources: `cb-<instance>-<role>`. */
export function resourceName(instance: string, role: ResourceRole): string {
  return `cb-${instance}-${role}`;
}
