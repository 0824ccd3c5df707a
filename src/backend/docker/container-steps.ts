import type { ContainerSpec, DockerEngine } from "./engine/engine.ts";

/**
 * Creates a container whose removal is registered on the stack first: a create that fails
 * half-way may still leave a container behind.
 */
export async function createContainer(
  engine: DockerEngine,
  stack: AsyncDisposableStack,
  spec: ContainerSpec & { name: string },
): Promise<void> {
  stack.defer(() => engine.containerRemove(spec.name));
  await engine.containerCreate(spec);
}

export interface HealthWait {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** Readiness checks per in-container wait, 20 ms apart: about two seconds. */
const CHECKS_PER_WAIT = 100;

/**
 * Waits until `check` (a shell test, a fixed string such as `listeningCheck`) succeeds inside the
 * container, right after start. The loop runs inside the container, so readiness is seen within
 * 20 ms at the cost of one exec per two seconds; Docker's own healthcheck only reports at its
 * interval (and Engine 20.10 has no start interval). The healthcheck stays, slow, for liveness.
 */
export async function waitReady(
  engine: DockerEngine,
  name: string,
  check: string,
  options: HealthWait = {},
): Promise<void> {
  const loop = `i=0; while [ $i -lt ${CHECKS_PER_WAIT} ]; do if ${check}; then exit 0; fi; i=$((i+1)); sleep 0.02; done; exit 1`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await engine
      .containerExec(name, ["sh", "-c", loop], { timeoutMs: 10_000, signal: options.signal })
      .catch(() => undefined);
    options.signal?.throwIfAborted();
    if (result?.exitCode === 0) return;
    const info = await engine.containerInspect(name);
    if (!info?.running) {
      throw new Error(
        `${name} exited while starting (status ${info?.status ?? "gone"}, exit code ${info?.exitCode ?? "?"}); see \`docker logs ${name}\` while it exists`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${name} was not ready within ${Math.round(timeoutMs / 1000)} s; see \`docker logs ${name}\``,
      );
    }
  }
}
