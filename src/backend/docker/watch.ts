/**
 * Notices a bottle's sidecars dying while it runs. Each sidecar is the agent's only way to one
 * thing (docs/architecture.md, "Sidecars"): when it dies the agent loses that path and nothing else
 * takes its place (fail closed: the agent is on an internal network only, so a dead egress proxy
 * means no egress, never direct egress). This module says so to the user, who otherwise sees only
 * the agent's tool calls failing. It only reads: it never restarts anything (a restarted sidecar
 * would need its in-memory secrets again) and never removes anything.
 */
import { type ContainerInfo, type DockerEngine, LABEL_INSTANCE, LABEL_ROLE } from "./engine/engine.ts";

/** What the agent can no longer do when a container of this role is down. */
const LOST_PATH: Readonly<Record<string, string>> = {
  "egress-proxy": "the bottle has no egress now (requests fail; there is no route around the proxy)",
  "cred-proxy": "requests through cred-proxy fail now (no credentials are injected anywhere else)",
  "git-gate": "git push and fetch through git-gate fail now",
  supervise: "the agent cannot ask the operator for more access now",
  agent: "the agent is gone; the session is over",
};

export interface ContainerState {
  role: string;
  name: string;
  /** Docker's status (running, exited, ...) or "gone" when the container no longer exists. */
  status: string;
  exitCode: number;
  health: ContainerInfo["health"];
  /** Running and not reported unhealthy. */
  up: boolean;
  /** Its OCI runtime (`runsc` is gVisor), when the engine said. */
  runtime?: string;
}

/** The state of every container of an instance, by role, agent first. */
export async function instanceStates(
  engine: Pick<DockerEngine, "containerList">,
  instance: string,
): Promise<ContainerState[]> {
  const containers = await engine.containerList({ [LABEL_INSTANCE]: instance });
  return containers.map(stateOf).sort((a, b) => rank(a.role) - rank(b.role) || a.role.localeCompare(b.role));
}

function stateOf(container: ContainerInfo): ContainerState {
  return {
    role: container.labels[LABEL_ROLE] ?? "unknown",
    name: container.name,
    status: container.status,
    exitCode: container.exitCode,
    health: container.health,
    up: container.running && container.health !== "unhealthy",
    ...(container.runtime === undefined ? {} : { runtime: container.runtime }),
  };
}

function rank(role: string): number {
  return role === "agent" ? 0 : role === "egress-proxy" ? 1 : 2;
}

/** One line saying what went down and what that means: "egress-proxy exited (code 137): ...". */
export function describeLoss(state: ContainerState, instance: string): string {
  const what =
    state.status === "gone"
      ? "was removed"
      : state.status === "running"
        ? "is unhealthy"
        : `${state.status} (code ${state.exitCode})`;
  const lost = LOST_PATH[state.role] ?? "the agent lost what it provided";
  return `${state.role} ${what}: ${lost}; stop the bottle with \`claude-bottle stop ${instance}\``;
}

export interface WatchOptions {
  /** Called once per container that goes down (exits, is removed or turns unhealthy). */
  report: (line: string) => void;
  intervalMs?: number;
}

/**
 * Polls the instance's containers (one `docker ps` and one inspect per round) and reports each
 * sidecar that was up and is no longer. Engine errors are skipped: the next round tries again.
 * Dispose to stop watching.
 */
export function watchInstance(
  engine: Pick<DockerEngine, "containerList">,
  instance: string,
  options: WatchOptions,
): AsyncDisposable {
  const intervalMs = options.intervalMs ?? 3_000;
  const known = new Map<string, ContainerState>();
  const reported = new Set<string>();
  let stopped = false;
  let round: Promise<void> = Promise.resolve();

  const check = async () => {
    let states: ContainerState[];
    try {
      states = await instanceStates(engine, instance);
    } catch {
      return;
    }
    const seen = new Set<string>();
    // The agent is not watched: the session itself shows when it ends, and a signal removes it.
    for (const state of states.filter((candidate) => candidate.role !== "agent")) {
      seen.add(state.name);
      if (!known.has(state.name) && state.up) known.set(state.name, state);
      if (known.has(state.name) && !state.up) lost(state);
    }
    for (const [name, state] of known) {
      if (!seen.has(name)) lost({ ...state, status: "gone", up: false });
    }
  };
  const lost = (state: ContainerState) => {
    if (stopped || reported.has(state.name)) return;
    reported.add(state.name);
    options.report(describeLoss(state, instance));
  };

  const timer = setInterval(() => {
    round = round.then(check);
  }, intervalMs);
  timer.unref();
  round = check();
  return {
    async [Symbol.asyncDispose]() {
      stopped = true;
      clearInterval(timer);
      await round;
    },
  };
}
