/**
 * The layering of src/, checked by `npm run lint` (dependency-cruiser). Dependencies point one way:
 * down this list, never up it, and never in a circle.
 *
 * Host side, bottom to top:
 *   lib        helpers that know none of claude-bottle's parts: the scanner, TLS, host files,
 *              UserError and errorMessage(), the ~/.claude-bottle layout (home-layout.ts)
 *   contracts  what the host and a sidecar agree on, one module per sidecar (egress-proxy,
 *              cred-proxy, git-gate, supervise, demo-api): where its files sit in its container and
 *              the zod schema of the config the host writes for it. supervise's queue protocol,
 *              proposal validation and capability Dockerfile rules run on both sides, so they are
 *              contracts too (supervise-*.ts, capability-dockerfile.ts)
 *   manifest   reading and validating agent and bottle manifests
 *   plan       a manifest turned into a BottlePlan (plan-for.ts), each sidecar's config rendered
 *              from it as its contract's type
 *   backend    Docker: the engine, images, containers, networks; an instance's lifecycle (launch,
 *              replace the agent, stop, cleanup: docker/lifecycle/); the instance state records
 *   logs       reading a bottle's audit logs (`claude-bottle logs`)
 *   supervise  the host side of supervise: the dashboard, deciding and applying proposals (it
 *              replaces the agent through the backend and shows logs)
 *   cli        commands, their actions and the demo (cli/demo/); the entry point
 *
 * Sidecar programs (src/sidecars/**) run in the sidecar image: they import lib, contracts and
 * sidecar code (sidecars/common/ holds what several share), never the host's layers. Only the
 * CLI (`claude-bottle sidecar`, an entry point) may import a sidecar program.
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
