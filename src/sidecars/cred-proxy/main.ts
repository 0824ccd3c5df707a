import { CRED_PROXY } from "../../contracts/cred-proxy.ts";
import { EGRESS } from "../../contracts/egress-proxy.ts";
import { UserError } from "../../lib/user-error.ts";

import { runInForeground } from "../common/foreground.ts";
import { tokensFromEnv } from "./routes.ts";
import { isCredProxyConfigError, startCredProxy } from "./run.ts";

const USAGE =
  "usage: cred-proxy [--routes FILE] [--listen HOST:PORT] [--health HOST:PORT] [--egress-proxy URL] [--ca FILE] [--audit FILE] [--audit-max-bytes N]";

function option(argv: readonly string[], name: string, fallback: string): string {
  const index = argv.indexOf(name);
  if (index === -1) return fallback;
  const value = argv[index + 1];
  if (value === undefined || value.startsWith("--")) throw new UserError(USAGE);
  return value;
}

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UserError(USAGE);
  return value;
}

/**
 * Entry of the sidecar image's `cred-proxy` role. Tokens come from CRED_PROXY_TOKEN_<n> in the
 * environment (set at create time) and are removed from process.env once read. Runs until
 * SIGINT/SIGTERM; SIGHUP reloads routes.json.
 */
export async function main(argv: readonly string[]): Promise<void> {
  let tokens: Record<string, string>;
  try {
    tokens = tokensFromEnv(process.env);
  } catch (error) {
    throw new UserError(`cred-proxy: ${(error as Error).message}`, { code: "E_CRED_PROXY_TOKEN" });
  }
  for (const slot of Object.keys(tokens)) delete process.env[slot];
  await runInForeground(
    "cred-proxy",
    () =>
      startCredProxy({
        routesFile: option(argv, "--routes", CRED_PROXY.routesFile),
        listen: option(argv, "--listen", `0.0.0.0:${CRED_PROXY.port}`),
        health: option(argv, "--health", `127.0.0.1:${CRED_PROXY.healthPort}`),
        egressProxy: option(
          argv,
          "--egress-proxy",
          process.env.HTTPS_PROXY ?? `http://${EGRESS.alias}:${EGRESS.port}`,
        ),
        caFile: option(argv, "--ca", CRED_PROXY.caCert),
        ...(argv.includes("--audit") ? { auditFile: option(argv, "--audit", CRED_PROXY.auditFile) } : {}),
        ...(argv.includes("--audit-max-bytes")
          ? { auditMaxBytes: positive(option(argv, "--audit-max-bytes", "")) }
          : {}),
        tokens,
      }),
    isCredProxyConfigError,
  );
}
