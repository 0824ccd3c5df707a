import type { DockerEngine } from "../backend/docker/engine/engine.ts";

/** A change that could not be applied; the proposal stays pending and the message says why. */
export class ApplyError extends Error {
  readonly code = "E_APPLY";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ApplyError";
  }
}

export function isApplyError(error: unknown): error is ApplyError {
  return error instanceof ApplyError;
}

export interface LiveFile {
  engine: DockerEngine;
  container: string;
  /** Absolute path of the config file inside the container. */
  path: string;
  /** Owner of the file (the sidecar's uid) and its mode. */
  uid: number;
  gid: number;
  mode: number;
  /**
   * The reload generation the sidecar reports (its health endpoint), or undefined when it cannot
   * be read. A reload that took raises it; one that refused the file leaves it.
   */
  generation: () => Promise<number | undefined>;
  reloadTimeoutMs?: number;
}

export async function readLiveFile(target: Pick<LiveFile, "engine" | "container" | "path">): Promise<string> {
  const info = await target.engine.containerInspect(target.container);
  if (!info?.running) throw new ApplyError(`${target.container} is not running; is the bottle still up?`);
  const result = await target.engine.containerExec(target.container, ["cat", target.path]);
  if (result.exitCode !== 0)
    throw new ApplyError(`cannot read ${target.path} in ${target.container}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Replaces a sidecar's config file and makes it reload (SIGHUP), then checks that the reload took
 * by watching its generation rise. A refused reload (the sidecar keeps its running policy) puts
 * the previous file back, so the file and the running policy never disagree, and throws.
 */
export async function replaceAndReload(target: LiveFile, previous: string, next: string): Promise<void> {
  const before = await target.generation();
  if (before === undefined) throw new ApplyError(`${target.container} does not report its reload generation`);
  await write(target, next);
  await target.engine.containerKill(target.container, "HUP");
  const deadline = Date.now() + (target.reloadTimeoutMs ?? 10_000);
  for (;;) {
    const now = await target.generation().catch(() => undefined);
    if (now !== undefined && now > before) return;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await write(target, previous);
  throw new ApplyError(
    `${target.container} did not take the new config (its running policy is unchanged); see \`docker logs ${target.container}\``,
  );
}

async function write(target: LiveFile, content: string): Promise<void> {
  const slash = target.path.lastIndexOf("/");
  await target.engine.containerCopyIn(target.container, target.path.slice(0, slash) || "/", [
    { path: target.path.slice(slash + 1), content, mode: target.mode, uid: target.uid, gid: target.gid },
  ]);
}

/** Reads `generation` from a JSON health endpoint inside the container, with the sidecar's Node. */
export function healthGeneration(
  engine: DockerEngine,
  container: string,
  url: string,
): () => Promise<number | undefined> {
  const script = `fetch(${JSON.stringify(url)}).then(r=>r.json()).then(j=>{process.stdout.write(String(j.generation))},()=>process.exit(1))`;
  return async () => {
    const result = await engine.containerExec(container, ["node", "-e", script], { timeoutMs: 10_000 });
    const value = Number(result.stdout.trim());
    return result.exitCode === 0 && Number.isFinite(value) ? value : undefined;
  };
}
