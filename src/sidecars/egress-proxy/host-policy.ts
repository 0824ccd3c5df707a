import type { Block } from "../../lib/block-response.ts";
import { type DefaultPorts, findMatch, type HostPattern, wildcardLabels } from "../../lib/host-pattern.ts";
import { type EntropyOptions, findEncodedLabel } from "./subdomain-entropy.ts";

/**
 * Which hosts the bottle may reach and how: default deny; passthrough entries are tunnelled
 * without interception; allowlist entries are inspected. A host reached through a wildcard
 * whose subdomain labels look like encoded data is refused even though the wildcard matches.
 * Pure: the proxy asks `decide` and never reads the config itself.
 */

export type HostDecision =
  | { kind: "allow"; mode: "inspect" | "passthrough"; rule: string }
  | { kind: "block"; block: Block };

export interface HostPolicy {
  decide(host: string, port: number): HostDecision;
}

export function createHostPolicy(options: {
  allowlist: readonly HostPattern[];
  passthrough: readonly HostPattern[];
  entropy: EntropyOptions | undefined;
  /** Ports an entry without `:port` allows (443 and 80 unless configured). */
  defaultPorts?: DefaultPorts;
}): HostPolicy {
  return {
    decide(host, port) {
      const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      const passthrough = findMatch(options.passthrough, host, port, options.defaultPorts);
      const allowed = passthrough ?? findMatch(options.allowlist, host, port, options.defaultPorts);
      if (allowed === undefined) {
        return {
          kind: "block",
          block: { code: "not-allowlisted", rule: `${target} matches no egress.allowlist entry`, target },
        };
      }
      if (options.entropy !== undefined) {
        const label = findEncodedLabel(wildcardLabels(allowed, host), options.entropy);
        if (label !== undefined) {
          return {
            kind: "block",
            block: {
              code: "dlp-subdomain",
              rule: `subdomain under ${allowed.source} looks like encoded data`,
              target,
            },
          };
        }
      }
      return {
        kind: "allow",
        mode: passthrough === undefined ? "inspect" : "passthrough",
        rule: allowed.source,
      };
    },
  };
}
