import type { BottleCa } from "../../../lib/tls/ca.ts";
import type { DockerEngine } from "../engine.ts";

/**
 * Rebuilds the agent's trust store with the per-bottle CA (copied in before start). Launch runs
 * it as soon as the agent container starts, in parallel with the sidecars, because it is the
 * slowest step of a launch and nothing in the agent may make a TLS call before it.
 */
export async function installAgentCa(engine: DockerEngine, agent: string): Promise<void> {
  await engine.containerExec(agent, ["update-ca-certificates"], { user: "root", check: true });
}

/** The provision step of the CA: show the user what the agent trusts, to check against. */
export function provisionCa(ca: BottleCa, log: (line: string) => void): void {
  log(`per-bottle CA installed; SHA-256 fingerprint ${ca.sha256Fingerprint}`);
}
