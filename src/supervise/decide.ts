import { join } from "node:path";
import type { DockerEngine } from "../backend/docker/engine/engine.ts";
import { LABEL_INSTANCE, LABEL_ROLE } from "../backend/docker/engine/engine.ts";
import { type Proposal, proposalDigest } from "../contracts/supervise.ts";
import { ProposalQueue, type QueueProblem } from "../contracts/supervise-queue.ts";
import { superviseDirs } from "../lib/home-layout.ts";
import { errorMessage, UserError } from "../lib/user-error.ts";
import { type Applied, applyChange, type Change, changeOf, currentText, proposedText } from "./apply.ts";
import { appendAudit, auditEntry } from "./audit.ts";

import { isApplyError } from "./live-reload.ts";
import { withLock } from "./lock.ts";
import type { PendingProposal } from "./render.ts";

/** What the host side needs to decide: the engine, the claude-bottle home, who decides. */
export interface SuperviseHost {
  engine: DockerEngine;
  home: string;
  /** Recorded in the audit log. */
  operator: string;
  owner: { uid: number; gid: number };
  now?: () => Date;
}

/** Instances whose supervise sidecar is running: the only queues anyone still waits on. */
export async function superviseInstances(engine: DockerEngine): Promise<string[]> {
  const containers = await engine.containerList({ [LABEL_ROLE]: "supervise" });
  return containers
    .filter((container) => container.running)
    .map((container) => container.labels[LABEL_INSTANCE])
    .filter((instance): instance is string => instance !== undefined)
    .sort();
}

/** Pending proposals of every running bottle, oldest first, and files that are not proposals. */
export async function listPending(
  host: Pick<SuperviseHost, "engine" | "home">,
): Promise<{ pending: PendingProposal[]; problems: (QueueProblem & { instance: string })[] }> {
  const pending: PendingProposal[] = [];
  const problems: (QueueProblem & { instance: string })[] = [];
  for (const instance of await superviseInstances(host.engine)) {
    const queue = new ProposalQueue(superviseDirs(host.home, instance).queue);
    const listed = queue.pending();
    pending.push(...listed.proposals.map((proposal) => ({ instance, proposal })));
    problems.push(...listed.problems.map((problem) => ({ ...problem, instance })));
  }
  pending.sort((a, b) => a.proposal.createdAt.localeCompare(b.proposal.createdAt));
  return { pending, problems };
}

export interface ApproveOptions {
  note?: string | undefined;
  /** The operator's modification; absent: the proposal as it is. */
  change?: Change | undefined;
  /** Aborts applying it (the dashboard's Ctrl-C during a build): the proposal stays pending. */
  signal?: AbortSignal | undefined;
  /** The proposal as the operator saw it (proposalDigest): anything else is not approved. */
  digest?: string | undefined;
}

/**
 * Approves a pending proposal: claims it (so no one else decides it), applies it live, answers
 * the agent, audits. A failed apply puts the proposal back (still pending), audits the failure
 * and reports why.
 */
export async function approve(
  host: SuperviseHost,
  id: string,
  options: ApproveOptions = {},
): Promise<Applied> {
  const { instance, queue, proposal } = await claim(host, id);
  if (options.digest !== undefined && proposalDigest(proposal) !== options.digest) {
    queue.release(id);
    throw new UserError(
      `proposal ${id} is not what was shown (its file changed since); it was not approved: look at it again`,
      { code: "E_PROPOSAL_CHANGED", exitCode: 1 },
    );
  }
  const dirs = superviseDirs(host.home, instance);
  const change = options.change ?? changeOf(proposal);
  const decision = options.change === undefined ? "approved" : "modified";
  const now = host.now ?? (() => new Date());
  let applied: Applied;
  try {
    applied = await withLock(join(dirs.queue, "apply.lock"), () =>
      applyChange(
        {
          engine: host.engine,
          instance,
          currentConfigDir: dirs.currentConfig,
          owner: host.owner,
          home: host.home,
          signal: options.signal,
        },
        change,
      ),
    );
  } catch (error) {
    queue.release(id);
    const message = errorMessage(error);
    const before = currentText(change.kind, dirs.currentConfig);
    appendAudit(
      dirs.auditFile,
      auditEntry(
        {
          instance,
          proposal: id,
          kind: change.kind,
          decision: "apply-failed",
          operator: host.operator,
          justification: proposal.justification,
          ...(options.note === undefined ? {} : { note: options.note }),
          before,
          after: before,
          proposedAfter: proposedText(change, dirs.currentConfig),
          error: message,
        },
        now(),
      ),
    );
    throw new UserError(`proposal ${id} was not applied and stays pending: ${message}`, {
      code: isApplyError(error) ? "E_APPLY" : "E_APPLY_UNEXPECTED",
      exitCode: 1,
      cause: error,
    });
  }
  queue.respond({
    version: 1,
    id,
    decision,
    ...(options.note === undefined ? {} : { note: options.note }),
    applied: applied.summary,
    decidedAt: now().toISOString(),
  });
  appendAudit(
    dirs.auditFile,
    auditEntry(
      {
        instance,
        proposal: id,
        kind: change.kind,
        decision,
        operator: host.operator,
        justification: proposal.justification,
        ...(options.note === undefined ? {} : { note: options.note }),
        before: applied.before,
        after: applied.after,
      },
      now(),
    ),
  );
  return applied;
}

/** Rejects a pending proposal with a reason the agent reads; policy is not touched. */
export async function reject(host: SuperviseHost, id: string, reason: string): Promise<void> {
  if (reason.trim() === "") throw new UserError("give a reason: the agent reads it (--reason TEXT)");
  const { instance, queue, proposal } = await claim(host, id);
  const dirs = superviseDirs(host.home, instance);
  const now = host.now ?? (() => new Date());
  const change = changeOf(proposal);
  queue.respond({ version: 1, id, decision: "rejected", note: reason, decidedAt: now().toISOString() });
  const before = currentText(change.kind, dirs.currentConfig);
  appendAudit(
    dirs.auditFile,
    auditEntry(
      {
        instance,
        proposal: id,
        kind: change.kind,
        decision: "rejected",
        operator: host.operator,
        justification: proposal.justification,
        note: reason,
        before,
        after: before,
        proposedAfter: proposedText(change, dirs.currentConfig),
      },
      now(),
    ),
  );
}

async function claim(
  host: SuperviseHost,
  id: string,
): Promise<{ instance: string; queue: ProposalQueue; proposal: Proposal }> {
  const { pending } = await listPending(host);
  const matches = pending.filter((entry) => entry.proposal.id === id);
  const match = matches[0];
  if (match === undefined || matches.length > 1) {
    throw new UserError(
      matches.length > 1
        ? `proposal id ${id} is pending in several bottles (${matches.map((entry) => entry.instance).join(", ")}); decide it from the dashboard`
        : `no pending proposal ${id} (it was decided, withdrawn or timed out); \`claude-bottle dashboard --once\` lists the pending ones`,
    );
  }
  const queue = new ProposalQueue(superviseDirs(host.home, match.instance).queue);
  const proposal = queue.claim(id);
  if (proposal === undefined)
    throw new UserError(`proposal ${id} is no longer pending (decided by someone else, or it timed out)`);
  return { instance: match.instance, queue, proposal };
}
