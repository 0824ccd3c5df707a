import { AGENT_CA_BUNDLE, AGENT_CA_CERT } from "../agent-env.ts";
import type { DockerEngine } from "../engine/engine.ts";
import { firstTarFile } from "../engine/tar.ts";

/**
 * Makes the agent trust the per-bottle CA before it starts: the certificate goes where
 * update-ca-certificates looks for it, and the system bundle gets it appended, which is what
 * update-ca-certificates would write (CAfile users: curl, git, OpenSSL, Python and Go through
 * SSL_CERT_FILE; Node reads NODE_EXTRA_CA_CERTS). Done on the created container from memory,
 * because the tool itself takes ~0.7 s, the longest step of a launch. An image whose bundle is
 * not a plain file falls back to running update-ca-certificates once the agent runs.
 */
export async function installAgentCa(
  engine: DockerEngine,
  agent: string,
  caCertPem: string,
): Promise<"bundle" | "fallback"> {
  const bundle = firstTarFile(
    await engine.containerCopyOut(agent, AGENT_CA_BUNDLE).catch(() => Buffer.alloc(0)),
  );
  const files = [{ path: AGENT_CA_CERT.slice(1), content: caCertPem, mode: 0o644 }];
  if (bundle === undefined) {
    await engine.containerCopyIn(agent, "/", files);
    return "fallback";
  }
  const system = bundle.content.toString("utf8").trimEnd();
  await engine.containerCopyIn(agent, "/", [
    ...files,
    { path: AGENT_CA_BUNDLE.slice(1), content: `${system}\n${caCertPem}`, mode: 0o644 },
  ]);
  return "bundle";
}

/** The fallback: rebuild the trust store inside the running agent. */
export async function updateCaCertificates(engine: DockerEngine, agent: string): Promise<void> {
  await engine.containerExec(agent, ["update-ca-certificates"], { user: "root", check: true });
}

/** The provision step of the CA: show the user what the agent trusts, to check against. */
export function provisionCa(sha256Fingerprint: string, log: (line: string) => void): void {
  log(`per-bottle CA installed; SHA-256 fingerprint ${sha256Fingerprint}`);
}
