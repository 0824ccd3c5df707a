import type { Command } from "commander";
import { visible } from "../../lib/terminal-text.ts";
import { classifyEnvValue } from "../../manifest/env-value.ts";
import { openCatalog } from "../../plan/plan-for.ts";
import { firstLine } from "../../plan/render-json.ts";
import { type CliContext, planContext, processContext } from "../context.ts";

export function registerInfoCommand(program: Command): void {
  program
    .command("info")
    .description("Show an agent: its bottle, env names, skills, prompt and git remotes")
    .argument("<agent>", "agent name")
    .action((agent: string) => info(processContext(), agent));
}

function info(context: CliContext, agentName: string): void {
  const catalog = openCatalog(planContext(context));
  const agent = catalog.agent(agentName);
  const bottle = catalog.bottle(agent.data.bottle);
  const env = { ...bottle.data.env, ...agent.data.env };
  const envNames = Object.keys(env)
    .sort()
    .map((name) => {
      const source = classifyEnvValue(env[name]!);
      return source.kind === "host"
        ? `${name} (from $${source.variable})`
        : source.kind === "prompt"
          ? `${name} (asked at launch)`
          : name;
    });
  const lines = [
    `agent    ${agent.name}  (${agent.file})`,
    `bottle   ${bottle.name}  (${bottle.file})`,
    `env      ${envNames.join(", ") || "none"}`,
    `skills   ${agent.data.skills.join(", ") || "none"}`,
    `prompt   ${firstLine(agent.prompt) || "none (interactive)"}`,
    `git      ${bottle.data.git.map((remote) => `${remote.Name} (${remote.Upstream})`).join(", ") || "none"}`,
  ];
  context.stdout.write(`${lines.map(visible).join("\n")}\n`);
}
