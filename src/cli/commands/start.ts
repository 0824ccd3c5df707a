import type { Command } from "commander";
import { Option } from "commander";
import { planFor } from "../../plan/plan-for.ts";
import { planToJson } from "../../plan/render-json.ts";
import { planToText } from "../../plan/render-text.ts";
import { confirmPlan } from "../confirm.ts";
import { type CliContext, planContext, processContext } from "../context.ts";

interface StartOptions {
  dryRun?: boolean;
  format: "text" | "json";
  yes?: boolean;
  detach?: boolean;
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
    .option("-d, --detach", "leave the bottle running and print its instance id (use exec, stop)")
    .action(async (agent: string, options: StartOptions) => start(processContext(), agent, options));
}

async function start(context: CliContext, agentName: string, options: StartOptions): Promise<void> {
  // A preview needs no secret: what is missing is shown; a real start stops on it.
  const plan = planFor(planContext(context), agentName, { allowMissing: options.dryRun === true });
  const rendered =
    options.format === "json" ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : planToText(plan);
  if (options.dryRun) {
    context.stdout.write(rendered);
    return;
  }
  // stdout stays free for the instance id (`--detach`) and scripted callers.
  context.stderr.write(rendered);
  if (!options.yes) await confirmPlan();
  // Loaded only now: `--dry-run` and `--help` stay fast without the Docker backend.
  const { openDocker } = await import("../docker-context.ts");
  const { startBottle } = await import("../start-bottle.ts");
  const docker = await openDocker(context);
  const { ensureImages, IMAGE_NAMES, defaultStageDir } = await import("../../backend/docker/images.ts");
  const [sidecar, agent] = await ensureImages(IMAGE_NAMES, {
    engine: docker.engine,
    stageDir: defaultStageDir(context.env),
  });
  const { exitCode } = await startBottle(context, docker, plan, {
    detach: options.detach ?? false,
    images: { sidecar: sidecar!.tag, agent: agent!.tag },
  });
  process.exitCode = exitCode;
}
