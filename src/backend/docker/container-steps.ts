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

/** Waits until the container's healthcheck passes; fails fast when it exits or turns unhealthy. */
export async function waitHealthy(
  engine: DockerEngine,
  name: string,
  options: HealthWait = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const info = await engine.containerInspect(name);
    if (info?.health === "healthy") return;
    if (!info?.running || info.health === "unhealthy") {
      throw new Error(
        `${name} did not become healthy (status ${info?.status ?? "gone"}, exit code ${info?.exitCode ?? "?"}, health ${info?.health ?? "?"}); see \`docker logs ${name}\` while it exists`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(
        `${name} was not healthy within ${Math.round(timeoutMs / 1000)} s; see \`docker logs ${name}\``,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
