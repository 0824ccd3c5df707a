import { UserError } from "../../lib/user-error.ts";
import { GateConfigError, loadGateConfig } from "./config.ts";
import { runHook } from "./hooks.ts";
import { serveGate } from "./serve.ts";

/**
 * Entry of the sidecar image's `git-gate` role:
 * - `git-gate serve --config FILE`: the gate (git daemon over the mirrors) until SIGTERM;
 * - `git-gate hook access|pre-receive ...`: what the hook scripts the gate writes call.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === "hook") {
    process.exitCode = await runHook(rest[0], rest.slice(1));
    return;
  }
  if (command !== "serve") throw new UserError("usage: git-gate serve --config FILE | git-gate hook <kind>");
  const index = rest.indexOf("--config");
  const configFile = index === -1 ? undefined : rest[index + 1];
  if (configFile === undefined) throw new UserError("usage: git-gate serve --config FILE");
  let config: Awaited<ReturnType<typeof loadGateConfig>>;
  try {
    config = await loadGateConfig(configFile);
  } catch (error) {
    if (error instanceof GateConfigError)
      throw new UserError(error.message, { code: error.code, cause: error });
    throw error;
  }
  const script = process.argv[1];
  if (script === undefined) throw new Error("cannot tell which script runs git-gate");
  await using gate = await serveGate(config, { configFile, self: [process.execPath, script] });
  const ended = await Promise.race([
    gate.exited.then((code) => `git daemon exited with code ${code}`),
    new Promise<string>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    }),
  ]);
  process.stderr.write(`git-gate: ${ended}, shutting down\n`);
  if (ended.startsWith("git daemon")) process.exitCode = 1;
}
