import { type Command, Option } from "commander";
import { LOG_SOURCES, type LogSource } from "../../logs/events.ts";
import { processContext } from "../context.ts";

const actions = () => import("../logs-actions.ts");

/** `logs` and `why`: what a bottle did, and why a request was refused (docs/logs.md). */
export function registerLogsCommands(program: Command): void {
  program
    .command("logs")
    .description(
      "A bottle's audit records (requests, tunnels, WebSockets, pushes, decisions) merged in time order; works after `stop`",
    )
    .argument("<instance>", "instance id (from `start --detach` or `list --running`)")
    .option("-f, --follow", "keep printing what the bottle does (Ctrl-C ends)")
    .option("--blocked", "only refusals, rejected pushes and proposals, errors")
    .option("--since <when>", "only from then on: 10m, 2h, 1d, or a date")
    .addOption(new Option("--source <source...>", "only these sidecars").choices([...LOG_SOURCES]))
    .option("--summary", "hosts contacted with counts and bytes, refusals by code, pushes, decisions")
    .addOption(
      new Option("--format <format>", "text (aligned columns) or json (one object per line)")
        .choices(["text", "json"])
        .default("text"),
    )
    .action(
      async (
        instance: string,
        options: {
          follow?: boolean;
          blocked?: boolean;
          since?: string;
          source?: LogSource[];
          summary?: boolean;
          format: "text" | "json";
        },
      ) => (await actions()).logs(processContext(), instance, options),
    );
  program
    .command("why")
    .description(
      "Why a request was refused: the rule, the manifest line that would allow it, the supervise tool",
    )
    .argument("<request-id>", "the id in the refusal's body and X-Bottle-Request-Id header")
    .action(async (id: string) => (await actions()).why(processContext(), id));
}
