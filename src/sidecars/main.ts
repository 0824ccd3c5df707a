#!/usr/bin/env node
/**
 * Entry point of the sidecar image: one bundle (dist/sidecar.js) holds every sidecar program and
 * the first argument picks the role, e.g. `node /opt/claude-bottle/sidecar.js egress-proxy ...`.
 * Each role module exports `main(argv)`, where argv holds the arguments after the role name.
 * Roles load lazily so one sidecar never initialises another's code.
 */

type SidecarMain = (argv: string[]) => Promise<void>;

/**
 * Role name → module. A role joins this table when its module exists; today egress-proxy's
 * main.ts is still being written (src/sidecars/egress-proxy/), so its line waits for it:
 *   "egress-proxy": () => import("./egress-proxy/main.ts"),
 */
const ROLES: Readonly<Record<string, () => Promise<{ main: SidecarMain }>>> = {};

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
  await module.main(rest);
}

await main(process.argv.slice(2));
