import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { INSTANCE_ID } from "../backend/instance.ts";
import { bottleHome, homeLayout } from "../lib/home-layout.ts";
import { REQUEST_ID } from "../lib/request-id.ts";
import { safeJson, visible } from "../lib/terminal-text.ts";
import { UserError } from "../lib/user-error.ts";
import type { LogSource } from "../logs/events.ts";
import { eventJson, eventLine } from "../logs/format.ts";
import { bottleLog } from "../logs/read.ts";
import { LogSummary } from "../logs/summary.ts";
import { bottleInfo, explain, findRequest } from "../logs/why.ts";

import type { CliContext } from "./context.ts";

/** What `logs`, `why` and `cleanup --logs` do (docs/logs.md); loaded only when one of them runs. */

export interface LogsOptions {
  follow?: boolean;
  blocked?: boolean;
  since?: string;
  source?: LogSource[];
  format: "text" | "json";
  summary?: boolean;
}

export function logsRoot(env: NodeJS.ProcessEnv): string {
  return homeLayout(bottleHome(env)).logs;
}

function logDirOf(context: CliContext, instance: string): string {
  const dir = join(logsRoot(context.env), instance);
  if (!INSTANCE_ID.test(instance) || !existsSync(dir))
    throw new UserError(
      `no logs for ${visible(instance)}: \`claude-bottle list --running\` shows the running bottles; logs of stopped ones stay until \`claude-bottle cleanup --logs\``,
      { exitCode: 2 },
    );
  return dir;
}

/** `10m`, `2h`, `30s`, `1d`, or a date: the earliest event shown. */
export function parseSince(text: string, now = new Date()): Date {
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as "s" | "m" | "h" | "d"];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UserError(
      `--since ${visible(text)}: expected e.g. 10m, 2h, 1d or a date such as 2026-12-01T09:00`,
      {
        exitCode: 2,
      },
    );
  return date;
}

export async function logs(context: CliContext, instance: string, options: LogsOptions): Promise<void> {
  const log = bottleLog(logDirOf(context, instance), {
    sources: options.source,
    blocked: options.blocked,
    since: options.since === undefined ? undefined : parseSince(options.since),
  });
  if (options.summary) {
    const summary = new LogSummary();
    for await (const event of log.events()) summary.add(event);
    context.stdout.write(
      options.format === "json" ? `${safeJson(summary.json())}\n` : `${summary.lines().join("\n")}\n`,
    );
  } else {
    const print = (event: Parameters<typeof eventLine>[0]) =>
      context.stdout.write(`${options.format === "json" ? eventJson(event) : eventLine(event)}\n`);
    for await (const event of log.events()) print(event);
    if (options.follow) {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once("SIGINT", stop).once("SIGTERM", stop);
      try {
        for await (const event of log.follow(abort.signal)) print(event);
      } finally {
        process.off("SIGINT", stop).off("SIGTERM", stop);
      }
    }
  }
  if (log.stats.unreadable > 0)
    context.stderr.write(
      `claude-bottle: ${log.stats.unreadable} log line(s) could not be read (too long, not JSON, or not an audit record) and were skipped\n`,
    );
}

export async function why(context: CliContext, id: string): Promise<void> {
  if (!REQUEST_ID.test(id))
    throw new UserError(
      `${visible(id)} is not a request id: refusals carry one (10 hex digits) in their body and X-Bottle-Request-Id header`,
      { exitCode: 2 },
    );
  const root = logsRoot(context.env);
  const found = await findRequest(root, id);
  if (found.length === 0)
    throw new UserError(
      `no request ${id} in the logs of any bottle (${root}); logs are kept until \`cleanup --logs\``,
      {
        exitCode: 1,
      },
    );
  const answers = found.map((request) =>
    explain(request, bottleInfo(join(root, request.instance)))
      .map(visible)
      .join("\n"),
  );
  context.stdout.write(`${answers.join("\n\n")}\n`);
}

/** Logs of bottles that are not running (state record gone or not `live`), removed. */
export function removeLogs(context: CliContext, live: ReadonlySet<string>): number {
  const root = logsRoot(context.env);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  const stale = names.filter((name) => INSTANCE_ID.test(name) && !live.has(name));
  for (const name of stale) rmSync(join(root, name), { recursive: true, force: true });
  return stale.length;
}
