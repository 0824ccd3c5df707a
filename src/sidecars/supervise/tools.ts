import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { type Proposal, SUPERVISE, SUPERVISE_LIMITS, type Validated } from "../../contracts/supervise.ts";
import { readCurrentConfig } from "../../contracts/supervise-current-config.ts";
import type { ProposalQueue, WaitResult } from "../../contracts/supervise-queue.ts";
import {
  validateDockerfile,
  validateEgressUrl,
  validateJustification,
  validateRoutes,
} from "../../contracts/supervise-validate.ts";
import { errorMessage } from "../../lib/user-error.ts";

export interface ToolContext {
  queue: ProposalQueue;
  instance: string;
  /** The current-config dir (read-only here): what proposals are checked against. */
  currentConfigDir: string;
  /** How long a call waits for an operator before the proposal is withdrawn. */
  timeoutMs: number;
  pollMs?: number;
  log: (line: string) => void;
  now?: () => Date;
  /** Proposals this sidecar waits on, by change: shared by every request of the server. */
  waiting?: Map<string, SharedWait>;
}

/** One queued proposal and the calls waiting for its decision (identical calls share it). */
interface SharedWait {
  id: string;
  result: Promise<WaitResult>;
  callers: number;
  abort: AbortController;
}

const justification = z
  .string()
  .describe("Why the task needs this change; the operator reads it before deciding. Be specific.");

/** Registers the three proposal tools on a server: each validates, queues, and waits. */
export function registerSuperviseTools(server: McpServer, context: ToolContext): void {
  server.registerTool(
    "request_egress",
    {
      title: "Ask for egress to a host",
      description:
        "Ask the operator to allow the bottle to reach the host of a URL that the egress proxy refused (HTTP 403 with X-Bottle-Block: not-allowlisted). Waits until the operator decides; when approved, retry the same request. The current allowlist is in /etc/claude-bottle/current-config/allowlist.",
      inputSchema: {
        url: z.string().describe("The URL that was refused, e.g. https://pypi.org/simple/requests/"),
        justification,
      },
    },
    async ({ url, justification: why }, extra) => {
      const current = readCurrentConfig(context.currentConfigDir);
      const checked = combine(validateEgressUrl(url, current.allowlist), validateJustification(why));
      if (!checked.ok) return refused(checked.problems);
      const [target, reason] = checked.value;
      return propose(context, { kind: "egress", url, entry: target.entry }, reason, extra.signal);
    },
  );

  server.registerTool(
    "propose_routes",
    {
      title: "Propose a cred-proxy routes change",
      description:
        "Propose the complete new list of cred-proxy routes (each {path, upstream, auth_scheme, slot, roles, allow?: [{method, path}], server_tools?}). Start from /etc/claude-bottle/current-config/routes.json; only token slots it already uses are available. Waits until the operator decides.",
      inputSchema: {
        routes: z.array(z.record(z.string(), z.unknown())).describe("The complete new route list"),
        justification,
      },
    },
    async ({ routes, justification: why }, extra) => {
      const current = readCurrentConfig(context.currentConfigDir);
      if (current.routes === undefined)
        return refused(["this bottle has no cred-proxy, so it has no routes"]);
      const checked = combine(validateRoutes(routes, current.routes.routes), validateJustification(why));
      if (!checked.ok) return refused(checked.problems);
      const [valid, reason] = checked.value;
      return propose(context, { kind: "routes", routes: valid }, reason, extra.signal);
    },
  );

  server.registerTool(
    "propose_capability",
    {
      title: "Propose a new agent image",
      description:
        "Propose a complete new Dockerfile for the agent's image (e.g. to install a package). Start from /etc/claude-bottle/current-config/Dockerfile. When approved the image is rebuilt and the bottle resumes with the new image. Waits until the operator decides.",
      inputSchema: {
        dockerfile: z.string().describe("The complete new Dockerfile"),
        justification,
      },
    },
    async ({ dockerfile, justification: why }, extra) => {
      const current = readCurrentConfig(context.currentConfigDir);
      const checked = combine(validateDockerfile(dockerfile, current.dockerfile), validateJustification(why));
      if (!checked.ok) return refused(checked.problems);
      const [valid, reason] = checked.value;
      return propose(context, { kind: "capability", dockerfile: valid }, reason, extra.signal);
    },
  );
}

type Change =
  | { kind: "egress"; url: string; entry: string }
  | { kind: "routes"; routes: Extract<Proposal, { kind: "routes" }>["routes"] }
  | { kind: "capability"; dockerfile: string };

async function propose(
  context: ToolContext,
  change: Change,
  justification: string,
  signal: AbortSignal,
): Promise<CallToolResult> {
  const waiting = context.waiting ?? new Map<string, SharedWait>();
  // Identical requests (same kind, same change) wait for one proposal: the operator decides once.
  const key = JSON.stringify(change);
  let shared = waiting.get(key);
  if (shared === undefined) {
    if (waiting.size >= SUPERVISE_LIMITS.pending)
      return text(
        `proposal not queued: ${waiting.size} proposals of this bottle already wait for the operator (the limit is ${SUPERVISE_LIMITS.pending}). Wait for their answers before asking for more; ask for several hosts or routes in fewer, broader proposals only when the task needs them.`,
        true,
      );
    const queued = queue(context, change, justification);
    if (typeof queued === "string") return text(queued, true);
    shared = queued;
    waiting.set(key, shared);
    const settled = shared;
    void shared.result
      .finally(() => {
        if (waiting.get(key) === settled) waiting.delete(key);
      })
      .catch(() => {});
    context.log(`proposal ${settled.id} (${change.kind}) queued; waiting for the operator`);
  } else {
    context.log(`proposal ${shared.id}: an identical request joins it`);
  }
  const joined = shared;
  joined.callers += 1;
  const leave = () => {
    joined.callers -= 1;
    if (joined.callers > 0) return;
    // Nobody waits any more: a later identical call queues afresh rather than join a dead wait.
    if (waiting.get(key) === joined) waiting.delete(key);
    joined.abort.abort();
  };
  signal.addEventListener("abort", leave, { once: true });
  if (signal.aborted) leave();
  try {
    const result = await joined.result;
    context.log(
      `proposal ${joined.id}: ${result.status === "decided" ? result.response.decision : result.status}`,
    );
    return answer(joined.id, result, context.timeoutMs);
  } finally {
    signal.removeEventListener("abort", leave);
  }
}

/** Writes the proposal to the queue and starts waiting; a string says why it could not be queued. */
function queue(context: ToolContext, change: Change, justification: string): SharedWait | string {
  const now = (context.now ?? (() => new Date()))();
  const id = context.queue.newId();
  const deadline = now.getTime() + context.timeoutMs;
  const proposal = {
    version: 1 as const,
    id,
    instance: context.instance,
    createdAt: now.toISOString(),
    deadline: new Date(deadline).toISOString(),
    justification,
    ...change,
  } as Proposal;
  try {
    context.queue.submit(proposal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? errorMessage(error);
    return `proposal not queued: the operator's queue on the host cannot be written (${code}${code === "ENOSPC" ? ": no space left on device" : ""}). Nothing changed; tell the user, and do not retry until they have fixed it.`;
  }
  const abort = new AbortController();
  const result = context.queue.waitForResponse(id, {
    deadline,
    signal: abort.signal,
    ...(context.pollMs === undefined ? {} : { pollMs: context.pollMs }),
  });
  return { id, result, callers: 0, abort };
}

function answer(id: string, result: WaitResult, timeoutMs: number): CallToolResult {
  switch (result.status) {
    case "decided": {
      const { decision, note, applied } = result.response;
      if (decision === "rejected") {
        return text(
          `rejected (proposal ${id}): ${note ?? "no reason given"}. Nothing changed; do not retry the same request.`,
        );
      }
      const how = decision === "modified" ? "approved with changes by the operator" : "approved";
      return text(
        `${how} (proposal ${id}): ${applied ?? "applied"}.${note ? ` Operator's note: ${note}.` : ""} It is in effect now; ${SUPERVISE.currentConfigMount} shows the current config.`,
      );
    }
    case "timeout":
      return text(
        `no operator decided within ${Math.round(timeoutMs / 1000)} s; proposal ${id} was withdrawn and nothing changed. Continue without it, or ask again later.`,
        true,
      );
    case "aborted":
      return text(`proposal ${id} was withdrawn: the call was cancelled.`, true);
    case "invalid-response":
      return text(
        `the operator's answer to proposal ${id} could not be read (${result.issues.join("; ")}); treat it as not approved.`,
        true,
      );
  }
}

function refused(problems: readonly string[]): CallToolResult {
  return text(
    `proposal not queued; fix these and call again:\n${problems.map((line) => `- ${line}`).join("\n")}`,
    true,
  );
}

function text(message: string, isError = false): CallToolResult {
  return { content: [{ type: "text", text: message }], ...(isError ? { isError: true } : {}) };
}

function combine<A, B>(a: Validated<A>, b: Validated<B>): Validated<[A, B]> {
  if (a.ok && b.ok) return { ok: true, value: [a.value, b.value] };
  return { ok: false, problems: [...(a.ok ? [] : a.problems), ...(b.ok ? [] : b.problems)] };
}
