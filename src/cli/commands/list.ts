import type { Command } from "commander";
import { visible } from "../../lib/terminal-text.ts";
import type { ManifestCatalog } from "../../manifest/loader.ts";
import { type CliContext, openCatalog, processContext } from "../context.ts";

export function registerListCommand(program: Command): void {
  program
    .command("list")
    .description("List the agents and bottles found, and where (--running: the bottles running now)")
    .option("--running", "list running bottle instances instead")
    .action(async (options: { running?: boolean }) =>
      options.running ? listRunning(processContext()) : list(processContext()),
    );
}

export async function listRunning(context: CliContext): Promise<void> {
  const { findInstances } = await import("../../backend/docker/cleanup.ts");
  const { openDocker } = await import("../docker-context.ts");
  const docker = await openDocker(context);
  const instances = await findInstances(docker.engine);
  const lines = instances.map((found) => {
    const record = docker.store.load(found.instance);
    const state = found.alive ? "running" : "dead (run `claude-bottle cleanup`)";
    const who = record
      ? `agent ${record.agent}, bottle ${record.bottle}, ${record.mode}, since ${record.createdAt}`
      : "no state record";
    return visible(`${found.instance}  ${state}  ${who}`);
  });
  context.stdout.write(lines.length ? `${lines.join("\n")}\n` : "no bottles running\n");
}

export function list(context: CliContext): void {
  const catalog = openCatalog(context);
  const lines = [
    "Agents:",
    ...catalog.agentNames().map((name) => describe(catalog, "agent", name)),
    "Bottles:",
    ...catalog.bottleNames().map((name) => describe(catalog, "bottle", name)),
  ];
  context.stdout.write(`${lines.join("\n")}\n`);
}

/** One row; a manifest that does not load is listed with its error instead of hiding the rest. */
function describe(catalog: ManifestCatalog, kind: "agent" | "bottle", name: string): string {
  const ref = catalog.refOf(kind, name)!;
  try {
    const manifest = kind === "agent" ? catalog.agent(name) : catalog.bottle(name);
    const extra = manifest.kind === "agent" ? ` → bottle ${manifest.data.bottle}` : "";
    const description = manifest.data.description ? `  ${manifest.data.description}` : "";
    return `  ${name.padEnd(20)} ${ref.origin.padEnd(8)} ${visible(`${ref.file}${extra}${description}`)}`;
  } catch (error) {
    return `  ${name.padEnd(20)} ${ref.origin.padEnd(8)} ${visible(`${ref.file} BROKEN: ${error instanceof Error ? error.message : String(error)}`)}`;
  }
}
