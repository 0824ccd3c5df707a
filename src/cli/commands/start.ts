import type { Command } from "commander";
import { Option } from "commander";
import { planToJson } from "../../plan/render-json.ts";
import { planToText } from "../../plan/render-text.ts";
import { confirmPlan } from "../confirm.ts";
import { type CliContext, planFor, processContext } from "../context.ts";
import { UserError } from "../user-error.ts";

export interface StartOptions {
  dryRun?: boolean;
  format: "text" | "json";
  yes?: boolean;
}

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description("Plan a bottle for an agent, show the plan, and launch Claude Code in it")
    .argument(
      "[agent]",
      "agent name (a manifest in ~/.claude-bottle/agents or ./.claude-bottle/agents)",
      "default",
    )
    .option("--dry-run", "print the plan and exit; touches nothing and asks nothing")
    .addOption(
      new Option("--format <format>", "how to print the plan").choices(["text", "json"]).default("text"),
    )
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (agent: string, options: StartOptions) => start(processContext(), agent, options));
}

export async function start(context: CliContext, agentName: string, options: StartOptions): Promise<void> {
  const plan = planFor(context, agentName);
  const rendered =
    options.format === "json" ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : planToText(plan);
  context.stdout.write(rendered);
  if (options.dryRun) return;
  if (!options.yes) await confirmPlan(context);
  throw new UserError("no bottle backend is wired into this build yet; `start --dry-run` shows the plan", {
    exitCode: 1,
    code: "E_NO_BACKEND",
  });
}
