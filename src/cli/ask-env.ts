import { createInterface } from "node:readline/promises";
import { visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import type { BottlePlan } from "../plan/bottle-plan.ts";

/** Asks each `?prompt` env entry on the terminal; the answers never echo into logs. */
export async function askEnv(plan: BottlePlan): Promise<Record<string, string>> {
  const questions = plan.env.filter((entry) => entry.kind === "prompt");
  if (questions.length === 0) return {};
  if (!process.stdin.isTTY) {
    throw new UserError(
      `env ${questions.map((entry) => entry.name).join(", ")} must be asked at launch, and there is no terminal to ask on`,
    );
  }
  const readline = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const answers: Record<string, string> = {};
    for (const entry of questions)
      answers[entry.name] = await readline.question(`${visible(entry.question)} (${entry.name}): `);
    return answers;
  } finally {
    readline.close();
  }
}
