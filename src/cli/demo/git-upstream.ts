/**
 * A real SSH git upstream (sshd + git, image `images/git-upstream`) for `claude-bottle demo` and
 * git-gate's tests: its port is published on the docker0 address only, so the bottle's git-gate
 * (and the host) reach it while nothing else does.
 */
import { createServer } from "node:net";
import type { DockerEngine, Labels } from "../../backend/docker/engine/engine.ts";

/** The bare repository the image creates; `main` is its default branch. */
export const UPSTREAM_REPO = "/srv/git/repo.git";

export interface SshUpstream extends AsyncDisposable {
  container: string;
  /** The docker0 address the port is published on. */
  address: string;
  port: number;
  /** `ssh-ed25519 AAAA...` of the upstream's sshd. */
  hostKey: string;
  /** An OpenSSH private key the upstream accepts (the gate's IdentityFile). */
  clientKey: string;
  /** Runs a shell command in the upstream as the `git` user. */
  sh(command: string): Promise<string>;
  /** The value of a ref in the upstream repository, or "" when it does not exist. */
  ref(name: string): Promise<string>;
}

/** The gateway address of Docker's default bridge: what `host-gateway` means. */
export async function bridgeGateway(engine: DockerEngine): Promise<string> {
  const subnet = (await engine.networkInspect("bridge"))?.subnets[0] ?? "172.17.0.0/16";
  return subnet.replace(/\.0\/\d+$/, ".1");
}

/** A port free on `address` now (the engine publishes on it right after). */
async function freePort(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, address, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts an upstream with one commit on main (README), and a client key it accepts. */
export async function startUpstream(
  engine: DockerEngine,
  options: { image: string; name: string; labels: Labels },
): Promise<SshUpstream> {
  const address = await bridgeGateway(engine);
  const port = await freePort(address);
  const container = options.name;
  await engine.containerCreate({
    image: options.image,
    name: container,
    labels: options.labels,
    publish: [{ hostIp: address, hostPort: port, containerPort: 22 }],
  });
  const exec = async (user: string, command: string) =>
    (await engine.containerExec(container, ["sh", "-c", command], { user, check: true })).stdout;
  try {
    await engine.containerStart(container);
    let hostKey = "";
    for (let attempt = 0; attempt < 100 && !hostKey; attempt++) {
      const ready = await engine.containerExec(
        container,
        ["sh", "-c", `test -d ${UPSTREAM_REPO} && cat /etc/ssh/ssh_host_ed25519_key.pub`],
        { user: "root" },
      );
      hostKey = ready.exitCode === 0 ? ready.stdout.trim().split(" ").slice(0, 2).join(" ") : "";
      if (!hostKey) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!hostKey)
      throw new Error(`the git upstream ${container} did not come up; see \`docker logs ${container}\``);
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
