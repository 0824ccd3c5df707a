/** The parts of an SSH git URL that git-gate needs to forward a push. */
export interface SshGitUrl {
  user: string;
  host: string;
  port: number;
  path: string;
}

const SSH_URL = /^ssh:\/\/(?:([^@/\s]+)@)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/(\S+)$/;
const SCP_LIKE = /^(?:([^@/\s]+)@)?([A-Za-z0-9.-]+):(?!\/\/)(\S+)$/;

/** Parses `ssh://user@host:port/path` and scp-like `user@host:path`; undefined when neither. */
export function parseSshGitUrl(url: string): SshGitUrl | undefined {
  const ssh = SSH_URL.exec(url);
  if (ssh) {
    const port = ssh[3] === undefined ? 22 : Number(ssh[3]);
    if (port < 1 || port > 65535) return undefined;
    return {
      user: ssh[1] ?? "git",
      host: ssh[2]!.replace(/^\[|\]$/g, "").toLowerCase(),
      port,
      path: ssh[4]!,
    };
  }
  const scp = SCP_LIKE.exec(url);
  if (scp) return { user: scp[1] ?? "git", host: scp[2]!.toLowerCase(), port: 22, path: scp[3]! };
  return undefined;
}
