#!/usr/bin/env node

/**
 * Entry point of the sidecar image: one bundle (dist/sidecar.js) holds every sidecar program and
 * the first argument picks the role, e.g. `node /opt/claude-bottle/sidecar.js egress-proxy ...`.
 * Each role module exports `main(argv)`, where argv holds the arguments after the role name.
 * Roles load lazily so one sidecar never initialises another's code.
 */

import { isScanWorker } from "../lib/scanner/worker-role.ts";
import { isUserError } from "../lib/user-error.ts";

type SidecarMain = (argv: string[]) => Promise<void>;

/** Role name → module; a role joins this table when its sidecar exists. */
const ROLES: Readonly<Record<string, () => Promise<{ main: SidecarMain }>>> = {
  "cred-proxy": () => import("./cred-proxy/main.ts"),
  // `claude-bottle demo`'s scripted stand-in for the Anthropic API, on the host side of the proxy.
  "demo-api": () => import("./demo-api/main.ts"),
  "egress-proxy": () => import("./egress-proxy/main.ts"),
  "git-gate": () => import("./git-gate/main.ts"),
  supervise: () => import("./supervise/main.ts"),
};

export async function main(argv: readonly string[]): Promise<void> {
  const [role, ...rest] = argv;
  if (role === "--roles") {
    process.stdout.write(`${Object.keys(ROLES).sort().join("\n")}\n`);
    return;
  }
  const load = role === undefined ? undefined : ROLES[role];
  if (load === undefined) {
    const known = Object.keys(ROLES).sort().join(", ") || "none yet";
    process.stderr.write(`usage: sidecar <role> [args...]; roles: ${known}\n`);
    process.exitCode = 2;
    return;
  }
  const module = await load();
  try {
    await module.main(rest);
  } catch (error) {
    // One line for the operator (`docker logs`); a stack only for what nobody anticipated.
    const expected = isUserError(error);
    process.stderr.write(
      `${role}: ${expected ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = expected ? error.exitCode : 1;
  }
}

// A thread of the egress proxy's scanner pool runs this same bundle: it serves scans, nothing else.
if (isScanWorker()) await (await import("../lib/scanner/pool.ts")).serveScans();
else await main(process.argv.slice(2));
