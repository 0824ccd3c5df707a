import { userInfo } from "node:os";
import { sidecarWriter } from "../backend/docker/prepare.ts";
import { proposalDigest } from "../contracts/supervise.ts";
import type { QueueProblem } from "../contracts/supervise-queue.ts";
import { superviseDirs } from "../lib/home-layout.ts";
import { safeJson, visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import { changeItems, changeOf } from "../supervise/apply.ts";
import { runDashboard } from "../supervise/dashboard-ui.ts";
import { approve, listPending, reject, type SuperviseHost } from "../supervise/decide.ts";
import { changedOnly, lineDiff } from "../supervise/diff.ts";

import { type PendingProposal, queueTable, summary } from "../supervise/render.ts";
import type { CliContext } from "./context.ts";
import { openDocker } from "./docker-context.ts";

/** What `approve`, `reject` and `dashboard` do; loaded only when one of them runs. */

export async function superviseHost(context: CliContext): Promise<SuperviseHost> {
  const docker = await openDocker(context);
  return {
    engine: docker.engine,
    home: docker.home,
    operator: context.env.USER || userInfo().username,
    // Files handed to the egress proxy belong to the user it runs as (never root).
    owner: sidecarWriter({ uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }),
  };
}

export async function approveCommand(
  context: CliContext,
  id: string,
  options: { note?: string; digest?: string },
): Promise<void> {
  const applied = await approve(await superviseHost(context), id, {
    note: options.note,
    digest: options.digest,
  });
  context.stdout.write(`approved ${visible(id)}: ${visible(applied.summary)}\n`);
  // What changed, line by line: the record an operator in a script or CI log reads back.
  for (const line of changedOnly(lineDiff(applied.before, applied.after), 2))
    context.stdout.write(`  ${visible(line)}\n`);
}

export async function rejectCommand(context: CliContext, id: string, reason: string): Promise<void> {
  await reject(await superviseHost(context), id, reason);
  context.stdout.write(`rejected ${visible(id)}\n`);
}

export async function dashboard(
  context: CliContext,
  options: { once?: boolean; format?: "text" | "json" },
): Promise<void> {
  if (!options.once) {
    if (!process.stdin.isTTY || !process.stdout.isTTY)
      throw new UserError(
        "the interactive dashboard needs a terminal; use `claude-bottle dashboard --once` to list proposals, then `approve <id> [--note TEXT]` or `reject <id> --reason TEXT`",
      );
    await runDashboard(await superviseHost(context), {
      input: process.stdin,
      output: process.stdout,
      editor: context.env.VISUAL || context.env.EDITOR || "vi",
    });
    return;
  }
  const host = await superviseHost(context);
  const { pending, problems } = await listPending(host);
  if (options.format === "json") {
    context.stdout.write(`${safeJson(queueJson(host, pending, problems))}\n`);
    return;
  }
  for (const problem of problems)
    context.stderr.write(
      `claude-bottle: warning: ${visible(`${problem.file} is not a valid proposal (${problem.issues.join("; ")})`)}\n`,
    );
  context.stdout.write(`${queueTable(pending, new Date(), Number.MAX_SAFE_INTEGER).join("\n")}\n`);
}

/**
 * `dashboard --once --format json` (docs/supervise.md): every pending proposal with the changes
 * an approval makes, and the files that are not proposals. Strings as the agent wrote them (JSON
 * escapes what a terminal would run).
 */
function queueJson(
  host: SuperviseHost,
  pending: readonly PendingProposal[],
  problems: readonly (QueueProblem & { instance: string })[],
): Record<string, unknown> {
  return {
    version: 1,
    pending: pending.map(({ instance, proposal }) => {
      return {
        id: proposal.id,
        bottle: instance,
        kind: proposal.kind,
        created_at: proposal.createdAt,
        deadline: proposal.deadline,
        justification: proposal.justification,
        summary: summary(proposal),
        digest: proposalDigest(proposal),
        changes: changeItems(changeOf(proposal), superviseDirs(host.home, instance).currentConfig),
        request:
          proposal.kind === "egress"
            ? { url: proposal.url, entry: proposal.entry }
            : proposal.kind === "routes"
              ? { routes: proposal.routes }
              : { dockerfile: proposal.dockerfile },
      };
    }),
    problems: problems.map((problem) => ({
      bottle: problem.instance,
      file: problem.file,
      issues: problem.issues,
    })),
  };
}
