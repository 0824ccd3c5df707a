import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect, stripVTControlCharacters } from "node:util";
import { ManifestCatalog } from "../../../src/manifest/loader.ts";
import { buildPlan, CLAUDE_CODE_HOSTS } from "../../../src/plan/bottle-plan.ts";
import { planToJson } from "../../../src/plan/render-json.ts";
import { planToText } from "../../../src/plan/render-text.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

const BOTTLE = `
env:
  LOG_LEVEL: debug
  DB_PASSWORD: \${HOST_DB_PASSWORD}
  OTP: "?One-time code"
git:
  - Name: app
    Upstream: git@github.com:acme/app.git
    IdentityFile: ~/.ssh/app_deploy
    KnownHostKey: "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
  - Name: lib
    Upstream: ssh://git@git.internal.example:2222/team/lib.git
    IdentityFile: /keys/lib
    KnownHostKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNh"
    ExtraHosts: {git.internal.example: 10.0.0.7}
cred_proxy:
  routes:
    - {path: /anthropic, upstream: "https://api.anthropic.com", auth_scheme: Bearer, token_ref: CLAUDE_CODE_OAUTH_TOKEN, role: anthropic-base-url}
    - {path: /github, upstream: "https://api.github.com", auth_scheme: token, token_ref: GH_TOKEN}
    - {path: /github-raw, upstream: "https://raw.githubusercontent.com", auth_scheme: token, token_ref: GH_TOKEN, role: [git-insteadof]}
    - {path: /npm, upstream: "https://npm.internal.example:8443/", auth_scheme: Bearer, token_ref: NPM_TOKEN, role: npm-registry}
egress:
  allowlist: [pypi.org, "*.example.org", "files.example.com:8080", api.github.com]
  ip_allowlist: [10.0.0.0/24]
  hosts: {registry.local: host-gateway}
supervise: true
`;

const HOST_ENV = {
  HOST_DB_PASSWORD: "db-pass-sekret-1",
  CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-sekret-2",
  GH_TOKEN: "ghp_sekret3sekret3sekret3sekret3sek",
  NPM_TOKEN: "npm_sekret4",
};

function planOf(env: NodeJS.ProcessEnv = HOST_ENV, agentYaml = "bottle: work\nenv:\n  LOG_LEVEL: info") {
  using fixture = tempHome();
  fixture.write("bottles/work.md", manifest(BOTTLE));
  fixture.write("agents/dev.md", manifest(agentYaml, "Fix the failing test.\nThen push."));
  const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
  const agent = catalog.agent("dev");
  return buildPlan({ agent, bottle: catalog.bottle("work"), env, skills: {}, homeDir: "/home/u" });
}

describe("BottlePlan", () => {
  it("allows Claude Code's hosts, the manifest's allowlist and every cred-proxy upstream, once each", () => {
    const plan = planOf();
    assert.deepEqual(plan.egress.allowlist, [
      ...CLAUDE_CODE_HOSTS,
      "pypi.org",
      "*.example.org",
      "files.example.com:8080",
      "api.github.com",
      "raw.githubusercontent.com",
      "npm.internal.example:8443",
    ]);
    assert.deepEqual(plan.egress.passthrough, ["api.anthropic.com"]);
    // Its cred-proxy carries the Anthropic route: only cred-proxy gets the API untouched.
    assert.deepEqual(plan.egress.passthroughClients, ["cred-proxy"]);
    assert.equal(plan.egress.tlsInterception, true);
    assert.deepEqual(plan.egress.ipAllowlist, ["10.0.0.0/24"]);
    assert.deepEqual(plan.egress.hosts, { "registry.local": "host-gateway" });
  });

  it("routes sharing a token_ref share one slot, and each slot knows its hosts", () => {
    const { credProxy } = planOf();
    assert.deepEqual(
      credProxy.routes.map((route) => [route.path, route.slot]),
      [
        ["/anthropic", "CRED_PROXY_TOKEN_0"],
        ["/github", "CRED_PROXY_TOKEN_1"],
        ["/github-raw", "CRED_PROXY_TOKEN_1"],
        ["/npm", "CRED_PROXY_TOKEN_2"],
      ],
    );
    assert.deepEqual(credProxy.slots[1]?.hosts, ["api.github.com", "raw.githubusercontent.com"]);
    assert.equal(credProxy.slots[1]?.value.reveal(), HOST_ENV.GH_TOKEN);
    assert.equal(credProxy.routes[3]?.upstream, "https://npm.internal.example:8443");
  });

  it("git remotes are rewritten to the gate and forwarded with the pinned key", () => {
    const [app, lib] = planOf().gitRemotes;
    assert.deepEqual(
      { ...app, knownHostKey: undefined },
      {
        name: "app",
        upstream: "git@github.com:acme/app.git",
        gateUrl: "git://git-gate/app.git",
        user: "git",
        host: "github.com",
        port: 22,
        path: "acme/app.git",
        identityFile: "/home/u/.ssh/app_deploy",
        knownHostKey: undefined,
        extraHosts: {},
      },
    );
    assert.deepEqual(
      [lib?.host, lib?.port, lib?.path, lib?.extraHosts],
      ["git.internal.example", 2222, "team/lib.git", { "git.internal.example": "10.0.0.7" }],
    );
  });

  it("the agent's env overrides the bottle's, and each value keeps its source", () => {
    const plan = planOf();
    assert.deepEqual(
      plan.env.map((entry) => [entry.name, entry.kind]),
      [
        ["DB_PASSWORD", "host"],
        ["LOG_LEVEL", "literal"],
        ["OTP", "prompt"],
      ],
    );
    const logLevel = plan.env.find((entry) => entry.name === "LOG_LEVEL");
    assert.equal(logLevel?.kind === "literal" && logLevel.value, "info");
  });

  it("a missing ${VAR} fails at the manifest line that reads it", () => {
    const { HOST_DB_PASSWORD: _, ...env } = HOST_ENV;
    assert.throws(
      () => planOf(env),
      /work\.md:4:16: `env\.DB_PASSWORD` reads host variable HOST_DB_PASSWORD, which is not set/,
    );
  });

  it("a missing token_ref fails at the route that names it", () => {
    const { NPM_TOKEN: _, ...env } = HOST_ENV;
    assert.throws(
      () => planOf(env),
      /work\.md:\d+:\d+: token_ref NPM_TOKEN is not set in the host environment/,
    );
  });

  it("no rendering ever contains a secret value", () => {
    const plan = planOf();
    const renderings = [
      planToText(plan),
      JSON.stringify(planToJson(plan)),
      JSON.stringify(plan),
      inspect(plan, { depth: 10 }),
    ];
    for (const text of renderings) {
      for (const value of Object.values(HOST_ENV))
        assert.ok(!text.includes(value), `a secret leaked into: ${text.slice(0, 200)}`);
    }
  });

  it("the JSON has the documented stable keys", () => {
    const json = planToJson(planOf());
    assert.deepEqual(Object.keys(json), [
      "version",
      "agent",
      "bottle",
      "env_names",
      "env",
      "egress",
      "git_remotes",
      "git_gate",
      "cred_proxy",
      "supervise",
      "isolation",
      "limits",
      "missing",
    ]);
    assert.deepEqual(json.env_names, ["DB_PASSWORD", "LOG_LEVEL", "OTP"]);
    assert.deepEqual(json.supervise, { enabled: true });
    assert.equal(json.isolation, "auto");
    assert.deepEqual(
      (json.agent as { prompt_first_line: string }).prompt_first_line,
      "Fix the failing test.",
    );
    assert.deepEqual((json.git_remotes as unknown[])[0], {
      name: "app",
      upstream: "git@github.com:acme/app.git",
      gate_url: "git://git-gate/app.git",
    });
  });

  it("the preflight text shows every part a reviewer must see", () => {
    // Colours depend on the terminal and on CI=1 (picocolors); the words must not.
    const text = stripVTControlCharacters(planToText(planOf()));
    for (const expected of [
      "agent dev",
      "DB_PASSWORD  from host $HOST_DB_PASSWORD",
      "OTP  asked at launch: One-time code",
      "api.anthropic.com (passthrough for cred-proxy; the agent's own connections inspected)",
      "TLS interception: on",
      "10.0.0.0/24",
      "registry.local → host-gateway",
      "app: git@github.com:acme/app.git → git://git-gate/app.git",
      "host key pinned (ssh-ed25519)",
      "http://cred-proxy:9099/github → https://api.github.com  token from host $GH_TOKEN",
      "supervise   on",
    ]) {
      assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
    }
  });
});

describe("limits", () => {
  function limitsOf(limits: string, supervise = true) {
    using fixture = tempHome();
    fixture.write("bottles/tight.md", manifest(`supervise: ${supervise}\n${limits}`));
    fixture.write("agents/dev.md", manifest("bottle: tight", "Work."));
    const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    return buildPlan({
      agent: catalog.agent("dev"),
      bottle: catalog.bottle("tight"),
      env: {},
      skills: {},
      homeDir: "/h",
    });
  }

  it("fills in every default, a capability build's included, and shows them in the preflight", () => {
    const plan = limitsOf("");
    assert.deepEqual(planToJson(plan).limits, {
      cpus: 2,
      memory_bytes: 4 * 1024 ** 3,
      processes: 1024,
      push_bytes: 1024 ** 3,
      mirror_bytes: 8 * 1024 ** 3,
      disk_bytes: null,
      audit_bytes: 256 * 1024 ** 2,
      build: { cpus: 1, memory_bytes: 2 * 1024 ** 3, minutes: 20, home_bytes: 1024 ** 3 },
    });
    const text = stripVTControlCharacters(planToText(plan));
    assert.match(
      text,
      /capability builds: 1 CPU, 2 GiB memory, 20 min; carrying up to 1 GiB of the agent's home/,
    );
    assert.match(text, /disk: not limited \(limits\.disk caps it where the engine can/);
  });

  it("takes each setting from the bottle; without supervise no capability can be built, so none is shown", () => {
    const plan = limitsOf(
      "limits:\n  mirror: 2g\n  disk: 20g\n  build: {cpus: 2, memory: 1g, minutes: 5, home: 256m}\n",
    );
    assert.deepEqual(plan.limits.build, {
      cpus: 2,
      memoryBytes: 1024 ** 3,
      minutes: 5,
      homeBytes: 256 * 1024 ** 2,
    });
    assert.equal(plan.limits.mirrorBytes, 2 * 1024 ** 3);
    assert.equal(plan.limits.diskBytes, 20 * 1024 ** 3);
    const text = stripVTControlCharacters(planToText(plan));
    assert.match(text, /capability builds: 2 CPUs, 1 GiB memory, 5 min; carrying up to 256 MiB/);
    assert.match(text, /agent disk: 20 GiB/);
    assert.doesNotMatch(stripVTControlCharacters(planToText(limitsOf("", false))), /capability builds/);
  });

  it("refuses a disk cap under 1 GiB and a build with no time", () => {
    assert.throws(() => limitsOf("limits:\n  disk: 100m\n"), /at least 1g/);
    assert.throws(() => limitsOf("limits:\n  build: {minutes: 0}\n"), /build\.minutes/);
  });
});
