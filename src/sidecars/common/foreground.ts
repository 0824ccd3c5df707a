import { UserError } from "../../lib/user-error.ts";

/** A started sidecar server: SIGHUP reloads it, close stops it. */
export interface ReloadableServer {
  reload(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Runs a sidecar in the foreground: starts it (a config error or a taken port becomes one clear
 * line, not a stack), reloads it on SIGHUP, and closes it on SIGINT/SIGTERM.
 */
export async function runInForeground(
  name: string,
  start: () => Promise<ReloadableServer>,
  isConfigError: (error: unknown) => error is Error & { code: string },
): Promise<void> {
  let running: ReloadableServer;
  try {
    running = await start();
  } catch (error) {
    if (isConfigError(error)) throw new UserError(error.message, { code: error.code, cause: error });
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new UserError(`${name}: address in use (${(error as Error).message})`, { code: "E_ADDR_IN_USE" });
    }
    throw error;
  }
  const onHup = () => {
    void running.reload();
  };
  process.on("SIGHUP", onHup);
  try {
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    process.stderr.write(`${name}: ${signal}, shutting down\n`);
  } finally {
    process.off("SIGHUP", onHup);
    await running.close();
  }
}
