import { createHash } from "node:crypto";
import { EGRESS, type EgressConfigInput } from "../contracts/egress-proxy.ts";
import type { BottlePlan } from "./bottle-plan.ts";

/** Where the egress proxy sees each `egress.upstream_ca` file of the plan. */
export function upstreamCaMounts(plan: BottlePlan): { source: string; target: string; readOnly: true }[] {
  return plan.egress.upstreamCa.map((source, index) => ({
    source,
    target: `${EGRESS.upstreamCaDir}/${index}.pem`,
    readOnly: true,
  }));
}

export interface EgressLaunchFacts {
  /** CIDR of the bottle's internal network, known once Docker has created it. */
  internalCidr?: string;
}

/**
 * `egress.hosts` entries of `host-gateway` cannot be written as an IP: Docker knows the address.
 * They become `--add-host` entries of the proxy container, which its system resolver reads.
 */
export function hostGatewayEntries(plan: BottlePlan): Record<string, string> {
  return Object.fromEntries(
    Object.entries(plan.egress.hosts).filter(([, address]) => address === "host-gateway"),
  );
}

/**
 * The egress proxy's config file for a bottle (docs/egress-proxy.md has the schema). Token values
 * never appear: only their SHA-256, length and the host each may go to.
 */
export function renderEgressConfig(plan: BottlePlan, facts: EgressLaunchFacts = {}): EgressConfigInput {
  const hosts = Object.fromEntries(
    Object.entries(plan.egress.hosts).filter(([, address]) => address !== "host-gateway"),
  );
  return {
    listen: `0.0.0.0:${EGRESS.port}`,
    health: `0.0.0.0:${EGRESS.healthPort}`,
    bottle: plan.bottle.name,
    supervise: plan.supervise.enabled,
    allowlist: plan.egress.allowlist,
    passthrough: plan.egress.passthrough,
    ...(plan.egress.passthroughClients.length ? { passthrough_clients: plan.egress.passthroughClients } : {}),
    ...(plan.egress.tlsInterception
      ? { tls_interception: { ca_cert: EGRESS.caCert, ca_key: EGRESS.caKey } }
      : {}),
    upstream_ca: upstreamCaMounts(plan).map((mount) => mount.target),
    ssrf: { ip_allowlist: [...plan.egress.ipAllowlist, ...(facts.internalCidr ? [facts.internalCidr] : [])] },
    hosts,
    dlp: {
      extra_patterns: [],
      known_tokens: plan.credProxy.slots.flatMap((slot) => {
        const value = slot.value.reveal();
        const sha256 = createHash("sha256").update(value).digest("hex");
        return slot.hosts.map((host) => ({ name: slot.slot, sha256, length: value.length, host }));
      }),
    },
    audit: { path: EGRESS.auditFile, max_bytes: plan.limits.auditBytes },
  };
}
