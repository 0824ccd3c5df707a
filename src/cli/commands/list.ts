import { type Command, Option } from "commander";
import { visible } from "../../lib/terminal-text.ts";
import { errorMessage } from "../../lib/user-error.ts";
import type { ManifestCatalog } from "../../manifest/loader.ts";
import { openCatalog } from "../../plan/plan-for.ts";
import { type CliContext, planContext, processContext } from "../context.ts";

type ListFormat = "text" | "json";

export function registerListCommand(program: Command): void {
  program
    .command("list")
    .description("List the agents and bottles found, and where (--running: the bottles running now)")
    .option("--running", "list running bottle instances instead")
    .addOption(
      new Option("--format <format>", "text (readable) or json (one object per line, for scripts)")
        .choices(["text", "json"])
        .default("text"),
    )
    .action(async (options: { running?: boolean; format: ListFormat }) =>
      options.running
        ? listRunning(processContext(), options.format)
        : list(processContext(), options.format),
    );
}

async function listRunning(context: CliContext, format: ListFormat = "text"): Promise<void> {
  const { findInstances } = await import("../../backend/docker/cleanup.ts");
  const { openDocker } = await import("../docker-context.ts");
  const docker = await openDocker(context);
  const instances = await findInstances(docker.engine);
  const rows = instances.map((found) => {
    const record = docker.store.load(found.instance);
    return {
      instance: found.instance,
      alive: found.alive,
      ...(record
        ? { agent: record.agent, bottle: record.bottle, mode: record.mode, since: record.createdAt }
        : {}),
    };
  });
  if (format === "json") {
    for (const row of rows) context.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  const lines = rows.map((row) => {
    const state = row.alive ? "running" : "dead (run `claude-bottle cleanup`)";
    const who =
      row.agent === undefined
        ? "no state record"
        : `agent ${row.agent}, bottle ${row.bottle}, ${row.mode}, since ${row.since}`;
    return visible(`${row.instance}  ${state}  ${who}`);
  });
  context.stdout.write(lines.length ? `${lines.join("\n")}\n` : "no bottles running\n");
}

interface ListedManifest {
  kind: "agent" | "bottle";
  name: string;
  origin: string;
  file: string;
  bottle?: string;
  description?: string;
  /** Why the manifest does not load; the rest of the list does not depend on it. */
  error?: string;
}

function list(context: CliContext, format: ListFormat = "text"): void {
  const catalog = openCatalog(planContext(context));
  const listed = [
    ...catalog.agentNames().map((name) => describe(catalog, "agent", name)),
    ...catalog.bottleNames().map((name) => describe(catalog, "bottle", name)),
  ];
  if (format === "json") {
    for (const entry of listed) context.stdout.write(`${JSON.stringify(entry)}\n`);
    return;
  }
  const row = (entry: ListedManifest) => {
    const extra = entry.bottle === undefined ? "" : ` → bottle ${entry.bottle}`;
    const tail =
      entry.error === undefined
        ? `${extra}${entry.description ? `  ${entry.description}` : ""}`
        : ` BROKEN: ${entry.error}`;
    return `  ${entry.name.padEnd(20)} ${entry.origin.padEnd(8)} ${visible(`${entry.file}${tail}`)}`;
  };
  const lines = [
    "Agents:",
    ...listed.filter((entry) => entry.kind === "agent").map(row),
    "Bottles:",
    ...listed.filter((entry) => entry.kind === "bottle").map(row),
  ];
  context.stdout.write(`${lines.join("\n")}\n`);
}

/** One entry; a manifest that does not load is listed with its error instead of hiding the rest. */
function describe(catalog: ManifestCatalog, kind: "agent" | "bottle", name: string): ListedManifest {
  const ref = catalog.refOf(kind, name)!;
  const base = { kind, name, origin: ref.origin, file: ref.file };
  try {
    const manifest = kind === "agent" ? catalog.agent(name) : catalog.bottle(name);
    return {
      ...base,
      ...(manifest.kind === "agent" ? { bottle: manifest.data.bottle } : {}),
      ...(manifest.data.description ? { description: manifest.data.description } : {}),
    };
  } catch (error) {
    return { ...base, error: errorMessage(error) };
  }
}
