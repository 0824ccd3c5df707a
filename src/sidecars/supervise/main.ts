import { parseArgs } from "node:util";
import { SUPERVISE } from "../../contracts/supervise.ts";
import { ProposalQueue } from "../../contracts/supervise-queue.ts";
import { UserError } from "../../lib/user-error.ts";
import { startSuperviseServer } from "./server.ts";

export const DEFAULT_TIMEOUT_MS = 15 * 60_000;

/**
 * Entry of the sidecar image's `supervise` role:
 * `supervise --instance ID [--queue DIR] [--current-config DIR] [--port N] [--timeout-ms N]`.
 * Runs until SIGINT/SIGTERM.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      instance: { type: "string" },
      queue: { type: "string", default: SUPERVISE.queueMount },
      "current-config": { type: "string", default: SUPERVISE.currentConfigMount },
      host: { type: "string", default: "0.0.0.0" },
      port: { type: "string", default: String(SUPERVISE.port) },
      "timeout-ms": { type: "string", default: String(DEFAULT_TIMEOUT_MS) },
    },
    strict: true,
  });
  const port = Number(values.port);
  const timeoutMs = Number(values["timeout-ms"]);
  if (!values.instance) throw new UserError("supervise: --instance is required");
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UserError("supervise: --port must be a port");
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new UserError("supervise: --timeout-ms must be positive");
  const log = (line: string) => process.stderr.write(`supervise: ${line}\n`);
  const queue = new ProposalQueue(values.queue);
  queue.ensure();
  const stale = queue.withdrawAll();
  if (stale) log(`withdrew ${stale} proposal(s) left from an earlier run`);
  const running = await startSuperviseServer(
    { queue, instance: values.instance, currentConfigDir: values["current-config"], timeoutMs, log },
    { host: values.host, port },
  );
  log(`listening on ${values.host}:${running.port}${SUPERVISE.mcpPath}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  log(`${signal}, shutting down`);
  await running.close();
}
