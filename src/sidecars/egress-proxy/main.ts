import { UserError } from "../../lib/user-error.ts";
import { runInForeground } from "../common/foreground.ts";
import { isEgressConfigError, startEgressProxy } from "./run.ts";

/**
 * The egress proxy in the foreground until SIGINT/SIGTERM; SIGHUP reloads its config. Both
 * `claude-bottle sidecar egress-proxy` and the sidecar image's entrypoint run this.
 */
export function runEgressProxy(configPath: string): Promise<void> {
  return runInForeground("egress-proxy", () => startEgressProxy(configPath), isEgressConfigError);
}

/** Entry of the sidecar image's `egress-proxy` role: `egress-proxy --config FILE`. */
export async function main(argv: readonly string[]): Promise<void> {
  const index = argv.indexOf("--config");
  const config = index === -1 ? undefined : argv[index + 1];
  if (config === undefined) throw new UserError("usage: egress-proxy --config FILE");
  await runEgressProxy(config);
}
