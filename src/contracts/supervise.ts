import { createHash } from "node:crypto";
import { z } from "zod";
import { routeRuleSchema } from "../lib/route-rules.ts";
import { routeSchema } from "./cred-proxy.ts";

/**
 * The queue protocol between the supervise sidecar (in the bottle) and the host (`dashboard`,
 * `approve`, `reject`). Both sides share one directory: the host's
 * `~/.claude-bottle/queue/<instance>/`, bind-mounted into the sidecar at `SUPERVISE.queueMount`.
 *
 *   pending/<id>.json    a proposal, written atomically by the sidecar (tmp file + rename)
 *   deciding/<id>.json   claimed by one host process while it applies a decision (rename)
 *   responses/<id>.json  the decision, written atomically by the host; the sidecar consumes it
 *
 * A rename is the only way a file changes state, so two deciders cannot both win and a proposal
 * that times out (the sidecar renames it away) cannot be approved afterwards.
 */

export const SUPERVISE = {
  alias: "supervise",
  port: 9100,
  mcpPath: "/mcp",
  healthPath: "/healthz",
  queueMount: "/run/supervise/queue",
  currentConfigMount: "/etc/claude-bottle/current-config",
} as const;

export const QUEUE_DIRS = { pending: "pending", deciding: "deciding", responses: "responses" } as const;

/** Files of the current-config dir the agent reads (read-only). */
export const CURRENT_CONFIG_FILES = {
  allowlist: "allowlist",
  routes: "routes.json",
  dockerfile: "Dockerfile",
} as const;

export const PROPOSAL_ID = /^[0-9a-f]{8}$/;
export const MAX_JUSTIFICATION = 4000;
export const MAX_DOCKERFILE_BYTES = 64 * 1024;

/**
 * What one bottle may ask of its operator at once: a flood of proposals or a huge one must not
 * bury the dashboard (every bottle's) or fill the host's disk. Refusals say which limit.
 */
export const SUPERVISE_LIMITS = {
  /** Proposals of one bottle waiting for the operator; identical ones count once. */
  pending: 20,
  /** MCP requests the sidecar serves at once (waiting calls included). */
  concurrentRequests: 40,
  /** Bytes of one MCP request body. */
  requestBytes: 256 * 1024,
  urlChars: 2048,
  routes: 32,
  rolesPerRoute: 16,
  allowRulesPerRoute: 64,
  /** Characters of a route's path, upstream, slot, role or rule field. */
  fieldChars: 512,
} as const;

const common = {
  version: z.literal(1),
  id: z.string().regex(PROPOSAL_ID),
  instance: z.string().min(1),
  createdAt: z.iso.datetime(),
  /** When the sidecar stops waiting and withdraws the proposal. */
  deadline: z.iso.datetime(),
  justification: z.string().min(1).max(MAX_JUSTIFICATION),
};

const field = z.string().max(SUPERVISE_LIMITS.fieldChars);

/**
 * A route as a proposal carries it: cred-proxy's route (contracts/cred-proxy.ts) with every field
 * bounded, so a flood from the sidecar cannot bury the host. Its formats are checked again, with
 * cred-proxy's own schema, when the routes are applied.
 */
const renderedRouteSchema = routeSchema.extend({
  path: field,
  upstream: field,
  slot: field,
  roles: z.array(field).max(SUPERVISE_LIMITS.rolesPerRoute).default([]),
  allow: z.array(routeRuleSchema).max(SUPERVISE_LIMITS.allowRulesPerRoute).optional(),
});

export const proposalSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    ...common,
    kind: z.literal("egress"),
    /** The URL that was refused, as the agent gave it. */
    url: z.string().max(SUPERVISE_LIMITS.urlChars),
    /** The allowlist entry to add: `host:port`. */
    entry: z.string().min(1).max(SUPERVISE_LIMITS.fieldChars),
  }),
  z.strictObject({
    ...common,
    kind: z.literal("routes"),
    /** The complete new route list of routes.json. */
    routes: z.array(renderedRouteSchema).max(SUPERVISE_LIMITS.routes),
  }),
  z.strictObject({
    ...common,
    kind: z.literal("capability"),
    /** The complete new agent Dockerfile. */
    dockerfile: z.string().min(1).max(MAX_DOCKERFILE_BYTES),
  }),
]);

export type Proposal = z.output<typeof proposalSchema>;

/**
 * What the operator saw, in 16 hex digits: an approval names it, and a proposal whose file changed
 * since (the sidecar owns the queue dir) is not approved.
 */
export function proposalDigest(proposal: Proposal): string {
  return createHash("sha256").update(JSON.stringify(proposal)).digest("hex").slice(0, 16);
}
export type RenderedRouteEntry = z.output<typeof renderedRouteSchema>;

export const responseSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(PROPOSAL_ID),
  decision: z.enum(["approved", "modified", "rejected"]),
  /** The operator's note (approve) or reason (reject). */
  note: z.string().optional(),
  /** What was applied, in words, e.g. `added upstream.test:8080 to egress.allowlist`. */
  applied: z.string().optional(),
  decidedAt: z.iso.datetime(),
});

export type ProposalResponse = z.output<typeof responseSchema>;

/** A validation's result: the value, or every problem found (the agent fixes them all at once). */
export type Validated<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Issues of a zod parse as `key.path: message` lines: never the values. */
export function issueLines(error: z.ZodError): string[] {
  return error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`,
  );
}
