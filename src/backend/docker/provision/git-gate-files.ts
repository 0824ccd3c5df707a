import { createHash } from "node:crypto";
import { type GateConfigInput, GIT_GATE, knownHostsLine } from "../../../contracts/git-gate.ts";
import type { BottlePlan } from "../../../plan/bottle-plan.ts";

import type { InMemoryFile } from "../engine/engine.ts";

/** The alias under which a remote's host key is pinned (HostKeyAlias; see sidecars/git-gate/ssh.ts). */
const hostKeyAlias = (name: string): string => `git-gate-upstream-${name}`;

/** git-gate's config for a bottle. Pure. */
export function renderGitGateConfig(plan: BottlePlan): GateConfigInput {
  return {
    listen_port: GIT_GATE.port,
    state_dir: GIT_GATE.stateDir,
    audit_file: GIT_GATE.auditFile,
    max_push_bytes: plan.limits.pushBytes,
    max_mirror_bytes: plan.limits.mirrorBytes,
    remotes: plan.gitRemotes.map((remote) => ({
      name: remote.name,
      upstream: remote.upstream,
      // As written: an scp-like path is relative to the login's home, which no ssh:// spelling keeps.
      url: remote.upstream,
      identity_file: `${GIT_GATE.keysDir}/${remote.name}`,
      known_hosts_file: `${GIT_GATE.knownHostsDir}/${remote.name}`,
      host_key_alias: hostKeyAlias(remote.name),
    })),
    scan: {
      // The bottle's real tokens (cred-proxy slots) by fingerprint only, as the egress proxy has them.
      known_tokens: plan.credProxy.slots.map((slot) => {
        const value = slot.value.reveal();
        return {
          name: slot.slot,
          sha256: createHash("sha256").update(value).digest("hex"),
          length: value.length,
        };
      }),
    },
  };
}

/**
 * ExtraHosts of every remote as the gate's host entries. Two remotes that map one name to two
 * addresses are refused: one of them would silently reach the wrong host.
 */
export function gateExtraHosts(plan: BottlePlan): Record<string, string> {
  const hosts: Record<string, string> = {};
  for (const remote of plan.gitRemotes) {
    for (const [name, address] of Object.entries(remote.extraHosts)) {
      const earlier = hosts[name];
      if (earlier !== undefined && earlier !== address) {
        throw new Error(
          `git remotes map ExtraHosts ${name} to two different addresses; give every remote the same entry`,
        );
      }
      hosts[name] = address;
    }
  }
  return hosts;
}

/**
 * Every file copied into the gate: config, pinned host keys and the private keys (mode 600, owned
 * by the gate user). `identities` holds each remote's key bytes, read from its IdentityFile.
 */
export function gitGateFiles(plan: BottlePlan, identities: ReadonlyMap<string, Buffer>): InMemoryFile[] {
  const owner = { uid: GIT_GATE.uid, gid: GIT_GATE.gid };
  const files: InMemoryFile[] = [
    {
      path: GIT_GATE.configFile.slice(1),
      content: `${JSON.stringify(renderGitGateConfig(plan), null, 2)}\n`,
      mode: 0o600,
      ...owner,
    },
  ];
  for (const remote of plan.gitRemotes) {
    const line = knownHostsLine(hostKeyAlias(remote.name), remote.knownHostKey);
    if (line === undefined)
      throw new Error(`git remote ${remote.name}: KnownHostKey is not an SSH public key`);
    const key = identities.get(remote.name);
    if (key === undefined) throw new Error(`git remote ${remote.name}: no identity read`);
    files.push(
      { path: `${GIT_GATE.knownHostsDir.slice(1)}/${remote.name}`, content: line, mode: 0o644, ...owner },
      { path: `${GIT_GATE.keysDir.slice(1)}/${remote.name}`, content: key, mode: 0o600, ...owner },
    );
  }
  return files;
}
