import type { InstanceStore } from "../../state.ts";
import type { DockerEngine, EngineInfo } from "../engine/engine.ts";

/**
 * Where bottles run and what the host remembers of them: what every step of an instance's
 * lifecycle (lifecycle/) works on.
 *
 * The lifecycle is a set of functions, not an interface: launch (launch-instance.ts), replace the
 * agent (replace-agent.ts), stop and cleanup (stop.ts). They are what the CLI, supervise and the
 * demo call, and what a second backend (Kubernetes is planned) will provide too; the interface
 * over them waits for that backend, as today it would have one implementation.
 */
export interface DockerHost {
  engine: DockerEngine;
  /** `docker info`, asked once: the preflight checks read it. */
  info: EngineInfo;
  store: InstanceStore;
  /** The claude-bottle home (state records, logs, supervise's dirs). */
  home: string;
}
