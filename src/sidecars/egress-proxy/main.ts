import { UserError } from "../../cli/user-error.ts";
import { isEgressConfigError, startEgressProxy } from "./run.ts";

/**
 * The egress proxy in the foreground until SIGINT/SIGTERM; SIGHUP reloads its config. Both
 * `claude-bottle sidecar egress-proxy` and the sidecar image's entrypoint run this.
 */
export async function runEgressProxy(configPath: string): Promise<void> {
  let running: Awaited<ReturnType<typeof startEgressProxy>>;
  try {
    running = await startEgressProxy(configPath);
  } catch (error) {
    if (isEgressConfigError(error)) throw new UserError(error.message, { code: error.code, cause: error });
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new UserError(`egress-proxy: address in use (${(error as Error).message})`, {
        code: "E_ADDR_IN_USE",
      });
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
    process.stderr.write(`egress-proxy: ${signal}, shutting down\n`);
  } finally {
    process.off("SIGHUP", onHup);
    await running.close();
  }
}

/** Entry of the sidecar image's `egress-proxy` role: `egress-proxy --config FILE`. */
export async function main(argv: readonly string[]): Promise<void> {
  const index = argv.indexOf("--config");
  const config = index === -1 ? undefined : argv[index + 1];
  if (config === undefined) throw new UserError("usage: egress-proxy --config FILE");
  await runEgressProxy(config);
}
