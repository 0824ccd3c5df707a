import { UserError } from "../lib/user-error.ts";

/** Asks y/N on a terminal. Without a terminal there is nobody to ask: refuse rather than hang. */
export async function confirmPlan(): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UserError(
      "no terminal to confirm the plan on; review it with --dry-run, then pass --yes to start without asking",
    );
  }
  const { default: confirm } = await import("@inquirer/confirm");
  const accepted = await confirm(
    { message: "Start this bottle?", default: false },
    { output: process.stderr },
  );
  if (!accepted)
    throw new UserError("not started: the plan was declined", { exitCode: 1, code: "E_DECLINED" });
}
