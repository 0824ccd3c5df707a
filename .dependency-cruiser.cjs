/**
 * The layering of src/, checked by `npm run lint` (dependency-cruiser). Dependencies point one way:
 * down this list, never up it, and never in a circle.
 *
 * Host side, bottom to top:
 *   lib        pure helpers with no knowledge of claude-bottle's parts (incl. lib/scanner, lib/tls,
 *              UserError, the ~/.claude-bottle home layout)
 *   contracts  one module per sidecar (contracts/<sidecar>.ts): where its files sit in its container
 *              and the zod schema of the config the host writes for it; shared by host and sidecar
 *   manifest   reading and validating agent and bottle manifests
 *   plan       a manifest turned into a BottlePlan, and each sidecar's config rendered from it
 *   backend    Docker: images, containers, networks, the instance state records
 *   logs       reading a bottle's audit logs (`claude-bottle logs`)
 *   supervise  the host side of supervise: the dashboard, deciding and applying proposals
 *   cli        commands, their actions and the demo; the entry point
 *
 * Sidecar programs (src/sidecars/**) run in the sidecar image: they import lib, contracts and each
 * other (sidecars/common holds what several share), never the host's layers. Only the CLI (the
 * `claude-bottle sidecar` command, an entry point) may import a sidecar program.
 */

const layers = [
  { name: "lib", path: "^src/lib/" },
  { name: "contracts", path: "^src/contracts/" },
  { name: "manifest", path: "^src/manifest/" },
  { name: "plan", path: "^src/plan/" },
  { name: "backend", path: "^src/backend/" },
  { name: "logs", path: "^src/logs/" },
  { name: "supervise", path: "^src/supervise/" },
  { name: "cli", path: "^src/cli/" },
];

const upward = layers.slice(0, -1).map((layer, index) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} may import only the layers below it`,
  severity: "error",
  from: { path: layer.path },
  to: { path: layers.slice(index + 1).map((above) => above.path) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    {
      name: "no-cycles",
      comment: "modules do not import each other, directly or through others",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "sidecars-stand-alone",
      comment: "sidecar programs import only lib, contracts and sidecars",
      severity: "error",
      from: { path: "^src/sidecars/" },
      to: { path: "^src/", pathNot: ["^src/lib/", "^src/contracts/", "^src/sidecars/"] },
    },
    {
      name: "only-the-cli-runs-sidecars",
      comment: "a sidecar program is imported only by other sidecar code and the CLI's sidecar command",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/sidecars/", "^src/cli/"] },
      to: { path: "^src/sidecars/" },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
  },
};
