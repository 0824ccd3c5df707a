import type { BottleCa } from "../../../lib/tls/ca.ts";
import type { DockerEngine } from "../engine.ts";

/**
 * Rebuilds the agent's trust store with the per-bottle CA (the file was copied in before start)
 * and prints the CA's fingerprint, so a user can check what the agent trusts.
 */
export async function provisionCa(
  engine: DockerEngine,
  agent: string,
  ca: BottleCa,
  log: (line: string) => void,
): Promise<void> {
  await engine.containerExec(agent, ["update-ca-certificates"], { user: "root", check: true });
  log(`per-bottle CA installed; SHA-256 fingerprint ${ca.sha256Fingerprint}`);
}
