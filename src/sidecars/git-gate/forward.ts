import type { GateRemote } from "../../contracts/git-gate.ts";
import { git } from "./git.ts";
import { type RefOutcome, renderForwardRejection } from "./messages.ts";
import { isCreation, isDeletion, type RefUpdate } from "./push-updates.ts";
import { describeUpstreamFailure } from "./ssh.ts";

/**
 * `git push` arguments forwarding a push upstream: every ref with a lease on the value the gate
 * saw (its mirror, refreshed when the push connected), so a ref upstream moved meanwhile is
 * refused, never overwritten. A forced update or a deletion reaches upstream as such: upstream's
 * own rules (protected branches, denyNonFastForwards) decide.
 */
export function forwardArgs(url: string, updates: readonly RefUpdate[]): string[] {
  const leases = updates.map(
    (update) => `--force-with-lease=${update.ref}:${isCreation(update) ? "" : update.oldSha}`,
  );
  const refspecs = updates.map((update) =>
    isDeletion(update) ? `:${update.ref}` : `${update.newSha}:${update.ref}`,
  );
  return ["push", "--porcelain", "--no-verify", ...leases, url, ...refspecs];
}

/** Parses `git push --porcelain` stdout: `<flag>\t<from>:<to>\t<summary>` per ref. */
export function parsePorcelain(stdout: string): RefOutcome[] {
  const outcomes: RefOutcome[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^([ +\-*=!])\t([^\t]*):([^\t]+)\t(.*)$/.exec(line);
    if (match) outcomes.push({ flag: match[1]!, ref: match[3]!, summary: match[4]!.trim() });
  }
  return outcomes;
}

export type ForwardResult = { ok: true; outcomes: RefOutcome[] } | { ok: false; message: string };

/** Forwards the updates upstream over SSH; any ref refused or any failure is `ok: false`. */
export async function forwardPush(
  repo: string,
  remote: GateRemote,
  updates: readonly RefUpdate[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ForwardResult> {
  const result = await git(forwardArgs(remote.url, updates), {
    cwd: repo,
    timeoutMs: options.timeoutMs,
    env: { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: "0" },
  });
  const outcomes = parsePorcelain(result.stdout.toString("utf8"));
  const missing = updates.filter((update) => !outcomes.some((outcome) => outcome.ref === update.ref));
  if (result.code === 0 && missing.length === 0 && !outcomes.some((outcome) => outcome.flag === "!")) {
    return { ok: true, outcomes };
  }
  if (outcomes.length === 0) {
    // No per-ref verdict: the connection itself failed (host key, network, auth, timeout).
    return {
      ok: false,
      message: `${describeUpstreamFailure("forward the push to", remote, result.stderr, result.timedOut)}\nNothing was forwarded; the push is rejected.\n`,
    };
  }
  return { ok: false, message: renderForwardRejection(remote.name, outcomes, result.stderr) };
}
