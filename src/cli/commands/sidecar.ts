import type { Command } from "commander";
import { isEgressConfigError, startEgressProxy } from "../../sidecars/egress-proxy/run.ts";
import { UserError } from "../user-error.ts";

/**
 * `claude-bottle sidecar <name>`: the programs that run inside a bottle's sidecar containers,
 * in the foreground. The container entrypoints call the same code. More sidecars join as
 * further subcommands.
 */
export function registerSidecarCommand(program: Command): void {
  const sidecar = program
    .command("sidecar")
    .description("Run a bottle sidecar in the foreground (container entrypoints call this)");
  sidecar
    .command("egress-proxy")
    .description("Egress firewall: allowlist, TLS interception, DLP, SSRF checks, audit; SIGHUP reloads")
    .requiredOption("--config <file>", "egress proxy config (YAML; see docs/egress-proxy.md)")
    .action((options: { config: string }) => runEgressProxy(options.config));
}

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
