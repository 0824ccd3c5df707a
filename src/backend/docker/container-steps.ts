import type { ContainerSpec, DockerEngine } from "./engine.ts";

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

/**
 * Polls a readiness probe by exec right after start. Docker's own healthcheck only reports at
 * its interval (and Engine 20.10 has no start interval), which would add up to a second per
 * sidecar to every launch; the healthcheck stays, at a slow interval, for liveness.
 */
export async function waitReady(
  engine: DockerEngine,
  name: string,
  probe: readonly string[],
  options: HealthWait = {},
): Promise<void> {
  await pollContainer(engine, name, options, 50, async () => {
    const result = await engine.containerExec(name, probe, { timeoutMs: 5_000 }).catch(() => undefined);
    return result?.exitCode === 0;
  });
}

async function pollContainer(
  engine: DockerEngine,
  name: string,
  options: HealthWait,
  intervalMs: number,
  ready: () => Promise<boolean>,
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await ready()) return;
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
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
