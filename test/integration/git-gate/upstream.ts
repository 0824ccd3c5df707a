/**
 * A real SSH git upstream for git-gate's tests and bench: sshd + git in a container built from
 * images/git-upstream, its port published on the docker0 address so that containers on
 * any user network (a bottle's egress network) and the host reach it, while nothing else does.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { CliDockerEngine } from "../../../src/backend/docker/engine/cli.ts";
import { type SshUpstream, startUpstream as startSshUpstream } from "../../../src/cli/demo/git-upstream.ts";
import { BASE_IMAGE } from "../docker/engine-available.ts";

export const UPSTREAM_IMAGE = "claude-bottle-test/git-upstream:latest";
const CONTEXT = fileURLToPath(new URL("../../../images/git-upstream", import.meta.url));

export type { SshUpstream } from "../../../src/cli/demo/git-upstream.ts";
export { bridgeGateway, UPSTREAM_REPO } from "../../../src/cli/demo/git-upstream.ts";

export async function buildUpstreamImage(engine: CliDockerEngine): Promise<void> {
  await engine.build({
    context: CONTEXT,
    tag: UPSTREAM_IMAGE,
    buildArgs: { BASE: BASE_IMAGE },
    labels: { "claude-bottle.test": "1" },
    progress: null,
  });
}

/** Starts an upstream with one commit on main (README). */
export function startUpstream(engine: CliDockerEngine, labels: Record<string, string>): Promise<SshUpstream> {
  return startSshUpstream(engine, {
    image: UPSTREAM_IMAGE,
    name: `cb-test-upstream-${randomBytes(4).toString("hex")}`,
    labels,
  });
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
