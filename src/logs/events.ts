/**
 * One bottle's audit lines, whatever sidecar wrote them, as one kind of event (`claude-bottle
 * logs`). Pure. A line comes from a sidecar that may be compromised: every field is checked for
 * its type and cut to a bound here, and made visible where it is shown (format.ts).
 */

export const LOG_SOURCES = ["egress", "cred-proxy", "git-gate", "supervise"] as const;
export type LogSource = (typeof LOG_SOURCES)[number];

export interface LogEvent {
  time: string;
  source: LogSource;
  /** request, tunnel, websocket, push, decision, audit-dropped */
  kind: string;
  /** allow, block, error; forwarded, rejected; approved, modified, rejected, apply-failed, operator-edit */
  outcome: string;
  /** A refusal, a rejected push or proposal, an error: what `--blocked` keeps. */
  refused: boolean;
  /** The request id (egress-proxy, cred-proxy) or proposal id (supervise). */
  id?: string;
  /** What was asked: `GET https://host:443/path`, `push refs/heads/main`, `egress upstream.test:80`. */
  what: string;
  /** Why, in a few words: the rule or code, status, bytes. */
  detail: string;
  host?: string;
  code?: string;
  bytesIn?: number;
  bytesOut?: number;
}

const FIELD = 300;

function str(value: unknown, max = FIELD): string {
  if (typeof value !== "string") return "";
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function time(value: unknown): string | undefined {
  const text = str(value, 40);
  return Number.isNaN(Date.parse(text)) ? undefined : text;
}

/** The event a parsed audit line stands for; undefined when it is not one. */
export function toEvent(source: LogSource, line: unknown): LogEvent | undefined {
  if (typeof line !== "object" || line === null || Array.isArray(line)) return undefined;
  const record = line as Record<string, unknown>;
  const at = time(record.time);
  if (at === undefined) return undefined;
  switch (source) {
    case "egress":
    case "cred-proxy":
      return requestEvent(source, at, record);
    case "git-gate":
      return pushEvent(at, record);
    case "supervise":
      return decisionEvent(at, record);
  }
}

function requestEvent(source: LogSource, at: string, record: Record<string, unknown>): LogEvent {
  const notice = auditNotice(record);
  if (notice !== undefined)
    return {
      time: at,
      source,
      kind: String(record.kind),
      outcome: "error",
      refused: false,
      what: notice,
      detail: "",
    };
  const outcome = ["allow", "block", "error"].includes(str(record.decision)) ? str(record.decision) : "error";
  const host = str(record.host);
  const port = num(record.port);
  const code = str(record.code, 60);
  const status = num(record.status);
  const [bytesIn, bytesOut] = [num(record.bytes_in) ?? 0, num(record.bytes_out) ?? 0];
  const what =
    source === "egress"
      ? `${str(record.method, 16)} ${str(record.scheme, 8)}://${host}${port ? `:${port}` : ""}${str(record.path)}`
      : `${str(record.method, 16)} ${str(record.path)}${host ? ` → ${host}` : ""}`;
  const id = str(record.id, 20);
  return {
    time: at,
    source,
    kind: str(record.kind, 20) || "request",
    outcome,
    refused: outcome !== "allow",
    ...(id ? { id } : {}),
    what,
    detail: [
      code,
      status === undefined ? "" : String(status),
      outcome === "allow" ? "" : str(record.rule),
      outcome === "allow" && (bytesIn || bytesOut) ? `↑${bytesOut} ↓${bytesIn} B` : "",
    ]
      .filter(Boolean)
      .join(" · "),
    ...(host ? { host } : {}),
    ...(code ? { code } : {}),
    bytesIn,
    bytesOut,
  };
}

/** What a sidecar's audit log says about itself: lines it dropped (too fast, or over the cap). */
function auditNotice(record: Record<string, unknown>): string | undefined {
  if (record.kind === "audit-rotated")
    return `${num(record.dropped_lines) ?? "?"} older audit lines (${num(record.dropped_bytes) ?? "?"} bytes) dropped: the log reached the bottle's limits.audit`;
  if (record.kind === "audit-dropped")
    return `${num(record.count) ?? "?"} audit lines dropped (the log could not keep up)`;
  return undefined;
}

function pushEvent(at: string, record: Record<string, unknown>): LogEvent {
  const outcome = str(record.outcome, 40) || "error";
  const refs = Array.isArray(record.refs)
    ? record.refs
        .slice(0, 5)
        .map((ref) => str((ref as Record<string, unknown> | null)?.ref, 120))
        .filter(Boolean)
    : [];
  const findings = Array.isArray(record.findings) ? record.findings.slice(0, 3) : [];
  return {
    time: at,
    source: "git-gate",
    kind: "push",
    outcome,
    refused: outcome !== "forwarded",
    what: `push ${str(record.remote, 60)} ${refs.join(" ") || "(no refs)"}`,
    detail: [
      outcome,
      `${num(record.commits) ?? 0} commits, ${num(record.blobs) ?? 0} blobs`,
      ...findings.map((finding) => {
        const found = (finding ?? {}) as Record<string, unknown>;
        return `${str(found.rule, 60)} in ${str(found.path, 120)}`;
      }),
      str(record.error, 200),
    ]
      .filter(Boolean)
      .join(" · "),
  };
}

function decisionEvent(at: string, record: Record<string, unknown>): LogEvent {
  const outcome = str(record.decision, 20) || "error";
  const id = str(record.proposal, 20);
  const diff = Array.isArray(record.diff)
    ? record.diff
        .slice(0, 4)
        .map((line) => str(line, 100))
        .join(" ")
    : "";
  return {
    time: at,
    source: "supervise",
    kind: "decision",
    outcome,
    refused: outcome === "rejected" || outcome === "apply-failed",
    ...(id ? { id } : {}),
    what: `${str(record.kind, 20)} ${id ? `proposal ${id}` : "(operator edit)"}: ${diff}`,
    detail: [outcome, `by ${str(record.operator, 60)}`, str(record.note, 200), str(record.error, 200)]
      .filter(Boolean)
      .join(" · "),
  };
}
