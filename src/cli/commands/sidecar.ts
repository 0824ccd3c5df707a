import type { Command } from "commander";

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
    .action(async (options: { config: string }) => {
      const { runEgressProxy } = await import("../../sidecars/egress-proxy/main.ts");
      await runEgressProxy(options.config);
    });
}
