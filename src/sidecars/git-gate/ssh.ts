import type { GateRemote } from "../../contracts/git-gate.ts";

/**
 * The ssh command git runs for a remote (core.sshCommand; git passes it to `sh -c`). Only the
 * gate-held key, only the pinned host key: StrictHostKeyChecking=yes with no other known_hosts
 * file, so an unknown or changed key fails the connection instead of being learned. Paths come
 * from the gate's own layout (no spaces or quotes), checked anyway.
 */
export function sshCommand(
  remote: Pick<GateRemote, "identity_file" | "known_hosts_file" | "host_key_alias">,
) {
  for (const path of [remote.identity_file, remote.known_hosts_file, remote.host_key_alias]) {
    if (!/^[A-Za-z0-9._/-]+$/.test(path)) throw new Error(`unsafe path for ssh: ${path}`);
  }
  return [
    "ssh",
    "-F /dev/null",
    `-i ${remote.identity_file}`,
    "-o IdentitiesOnly=yes",
    "-o IdentityAgent=none",
    "-o BatchMode=yes",
    "-o StrictHostKeyChecking=yes",
    `-o UserKnownHostsFile=${remote.known_hosts_file}`,
    "-o GlobalKnownHostsFile=/dev/null",
    `-o HostKeyAlias=${remote.host_key_alias}`,
    "-o CheckHostIP=no",
    "-o UpdateHostKeys=no",
    "-o ConnectTimeout=15",
    "-o ServerAliveInterval=15",
    "-o ServerAliveCountMax=4",
    "-o LogLevel=ERROR",
  ].join(" ");
}

export type UpstreamFailureKind = "host-key" | "unreachable" | "auth" | "timeout" | "other";

/** Classifies what ssh/git said when talking to upstream failed, for a message that says what to do. */
export function classifyUpstreamFailure(stderr: string, timedOut: boolean): UpstreamFailureKind {
  if (timedOut) return "timeout";
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i.test(
      stderr,
    )
  )
    return "host-key";
  if (
    /Could not resolve hostname|Connection refused|Connection timed out|No route to host|Network is unreachable|Connection closed by remote host|kex_exchange_identification|Name or service not known/i.test(
      stderr,
    )
  )
    return "unreachable";
  if (/Permission denied \(publickey|Load key|invalid format|bad permissions/i.test(stderr)) return "auth";
  return "other";
}

const ADVICE: Readonly<Record<UpstreamFailureKind, string>> = {
  "host-key":
    "the upstream's SSH host key does not match the KnownHostKey pinned in the bottle manifest (no trust on first use); check the key with the upstream's operator and fix the manifest",
  unreachable:
    "the upstream cannot be reached from git-gate (DNS, route or port); check Upstream and ExtraHosts",
  auth: "the upstream refused the gate's key; check IdentityFile and that its public key has access",
  timeout: "the upstream did not answer in time",
  other: "the upstream refused or failed",
};

/** One line: what failed, why in plain words, and ssh's own last line. */
export function describeUpstreamFailure(
  action: string,
  remote: Pick<GateRemote, "name" | "upstream">,
  stderr: string,
  timedOut: boolean,
): string {
  const kind = classifyUpstreamFailure(stderr, timedOut);
  const detail = lastMeaningfulLine(stderr);
  return `git-gate: cannot ${action} ${remote.name} (${remote.upstream}): ${ADVICE[kind]}${detail ? ` [${detail}]` : ""}`;
}

function lastMeaningfulLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(
      (line) => line && !/^@+$/.test(line) && !/^fatal: Could not read from remote repository/.test(line),
    )
    .filter((line) => !/^Please make sure you have the correct access rights/.test(line))
    .filter((line) => !/^and the repository exists/.test(line));
  const preferred = lines.find((line) =>
    /Host key verification failed|Connection refused|Could not resolve|timed out|Permission denied|No route/i.test(
      line,
    ),
  );
  return (preferred ?? lines.at(-1) ?? "").slice(0, 300);
}
