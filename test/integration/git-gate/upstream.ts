/**
 * A real SSH git upstream for git-gate's tests and bench: sshd + git in a container built from
 * test/fixtures/git-upstream, its port published on the docker0 address so that containers on
 * any user network (a bottle's egress network) and the host reach it, while nothing else does.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CliDockerEngine } from "../../../src/backend/docker/engine-cli.ts";
import { BASE_IMAGE } from "../docker/engine-available.ts";

const run = promisify(execFile);
export const UPSTREAM_IMAGE = "claude-bottle-test/git-upstream:latest";
const CONTEXT = fileURLToPath(new URL("../../fixtures/git-upstream", import.meta.url));
/** The bare repository the fixture creates; `main` is its default branch. */
export const UPSTREAM_REPO = "/srv/git/repo.git";

export interface SshUpstream extends AsyncDisposable {
  container: string;
  /** The docker0 address the port is published on. */
  address: string;
  port: number;
  /** `ssh-ed25519 AAAA...` of the upstream's sshd. */
  hostKey: string;
  /** An OpenSSH private key the upstream accepts (the gate's IdentityFile in tests). */
  clientKey: string;
  /** Runs a shell command in the upstream as the `git` user. */
  sh(command: string): Promise<string>;
  /** The value of a ref in the upstream repository, or "" when it does not exist. */
  ref(name: string): Promise<string>;
}

export async function buildUpstreamImage(engine: CliDockerEngine): Promise<void> {
  await engine.build({
    context: CONTEXT,
    tag: UPSTREAM_IMAGE,
    buildArgs: { BASE: BASE_IMAGE },
    labels: { "claude-bottle.test": "1" },
    progress: null,
  });
}

export async function bridgeGateway(engine: CliDockerEngine): Promise<string> {
  const subnet = (await engine.networkInspect("bridge"))?.subnets[0] ?? "172.17.0.0/16";
  return subnet.replace(/\.0\/\d+$/, ".1");
}

/** Starts an upstream with one commit on main (README). */
export async function startUpstream(
  engine: CliDockerEngine,
  labels: Record<string, string>,
): Promise<SshUpstream> {
  const address = await bridgeGateway(engine);
  const labelArgs = Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
  const { stdout } = await run("docker", [
    "run",
    "--detach",
    ...labelArgs,
    "--publish",
    `${address}::22`,
    UPSTREAM_IMAGE,
  ]);
  const container = stdout.trim();
  const exec = async (user: string, command: string) =>
    (await engine.containerExec(container, ["sh", "-c", command], { user, check: true })).stdout;
  try {
    const published = (await run("docker", ["port", container, "22/tcp"])).stdout;
    const port = Number(/:(\d+)\s*$/m.exec(published)?.[1]);
    let hostKey = "";
    for (let attempt = 0; attempt < 100 && !hostKey; attempt++) {
      hostKey = (
        await engine.containerExec(container, ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], { user: "root" })
      ).stdout
        .trim()
        .split(" ")
        .slice(0, 2)
        .join(" ");
      if (!hostKey || !(await exec("root", "test -d /srv/git/repo.git && echo yes || true")).trim()) {
        hostKey = "";
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const clientKey = await exec(
      "root",
      "rm -f /tmp/k /tmp/k.pub && ssh-keygen -q -t ed25519 -N '' -C gate -f /tmp/k && cat /tmp/k.pub > /home/git/.ssh/authorized_keys && chown git:git /home/git/.ssh/authorized_keys && cat /tmp/k && rm -f /tmp/k /tmp/k.pub",
    );
    await exec(
      "git",
      `cd /tmp && rm -rf seed && git clone -q ${UPSTREAM_REPO} seed 2>/dev/null; cd seed && git config user.email up@test && git config user.name upstream && git checkout -q -b main && echo hello > README && git add README && git commit -qm initial && git push -q origin main`,
    );
    return {
      container,
      address,
      port,
      hostKey,
      clientKey,
      sh: (command) => exec("git", command),
      async ref(name) {
        const result = await engine.containerExec(
          container,
          ["git", "--git-dir", UPSTREAM_REPO, "rev-parse", "--verify", "--quiet", name],
          { user: "git" },
        );
        return result.stdout.trim();
      },
      async [Symbol.asyncDispose]() {
        await engine.containerRemove(container);
      },
    };
  } catch (error) {
    await engine.containerRemove(container);
    throw error;
  }
}

/** Commits a file in the upstream itself (as someone else pushing there would). */
export async function commitUpstream(upstream: SshUpstream, file: string, content: string): Promise<string> {
  await upstream.sh(
    `cd /tmp/seed && git pull -q origin main && printf '%s' '${content}' > ${file} && git add ${file} && git commit -qm "upstream ${file}" && git push -q origin main`,
  );
  return upstream.ref("refs/heads/main");
}

/** A throwaway private key in PKCS#8 PEM: a secret the scanner must find in a push. */
export function pemPrivateKey(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}
