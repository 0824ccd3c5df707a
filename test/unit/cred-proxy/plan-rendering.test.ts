import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { prepareDocker } from "../../../src/backend/docker/prepare.ts";
import { credProxyAgentFiles } from "../../../src/backend/docker/provision/cred-proxy.ts";
import {
  credProxyAgentEnv,
  gitconfigText,
  insteadOfRules,
  npmrcText,
  PLACEHOLDER_TOKEN,
  teaConfigText,
} from "../../../src/backend/docker/provision/cred-proxy-roles.ts";
import { credProxySidecar } from "../../../src/backend/docker/sidecars/cred-proxy.ts";
import { egressProxySidecar } from "../../../src/backend/docker/sidecars/egress-proxy.ts";
import { CRED_PROXY } from "../../../src/contracts/cred-proxy.ts";
import { ManifestCatalog } from "../../../src/manifest/loader.ts";
import { type BottlePlan, buildPlan } from "../../../src/plan/bottle-plan.ts";
import { credProxyRoutesText, renderCredProxyRoutes } from "../../../src/plan/cred-proxy-routes.ts";
import { renderEgressConfig } from "../../../src/plan/egress-config.ts";
import { planToJson } from "../../../src/plan/render-json.ts";
import { parseRoutes } from "../../../src/sidecars/cred-proxy/routes.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

const GH = "ghp_Xq7T2mVb9LkR4sWd8NcY3pJh6FgZ1aQe5uKo";
const ANT = "sk-ant-oat01-Zr8Qm2Lx5Vb7Nc4Kd9Wf3Jh6Tg1Ys0Pa";

function planOf(bottle: string, env: NodeJS.ProcessEnv = { GH_TOKEN: GH, ANT_TOKEN: ANT }): BottlePlan {
  using fixture = tempHome();
  fixture.write("bottles/work.md", manifest(bottle));
  fixture.write("agents/dev.md", manifest("bottle: work"));
  const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
  return buildPlan({
    agent: catalog.agent("dev"),
    bottle: catalog.bottle("work"),
    env,
    skills: {},
    homeDir: "/home/u",
  });
}

const ROUTES = `
cred_proxy:
  routes:
    - {path: /anthropic, upstream: "https://api.anthropic.com", auth_scheme: Bearer, token_ref: ANT_TOKEN, role: anthropic-base-url}
    - {path: /gh, upstream: "https://github.com", auth_scheme: token, token_ref: GH_TOKEN, role: [git-insteadof, tea-login]}
    - {path: /gh/api, upstream: "https://api.github.com/", auth_scheme: token, token_ref: GH_TOKEN, role: npm-registry}
`;
const GIT = `
git:
  - Name: app
    Upstream: git@github.com:acme/app.git
    IdentityFile: /keys/app
    KnownHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
`;

describe("routes.json", () => {
  const plan = planOf(`${ROUTES}${GIT}`);
  const text = credProxyRoutesText(plan);

  it("holds neither a token value nor a host variable name", () => {
    for (const secret of [GH, ANT, "GH_TOKEN", "ANT_TOKEN", "token_ref"])
      assert.ok(!text.includes(secret), secret);
  });

  it("maps each path to its upstream, scheme and slot, longest path first, routes sharing a token sharing a slot", () => {
    assert.deepEqual(
      renderCredProxyRoutes(plan).routes.map((r) => [r.path, r.upstream, r.auth_scheme, r.slot]),
      [
        ["/anthropic", "https://api.anthropic.com", "Bearer", "CRED_PROXY_TOKEN_0"],
        ["/gh/api", "https://api.github.com", "token", "CRED_PROXY_TOKEN_1"],
        ["/gh", "https://github.com", "token", "CRED_PROXY_TOKEN_1"],
      ],
    );
    assert.deepEqual(renderCredProxyRoutes(plan).git_remotes, [
      { name: "app", host: "github.com", path: "acme/app.git", gate_url: "git://git-gate/app.git" },
    ]);
  });

  it("is exactly what the sidecar's own loader accepts, given the slots' tokens", () => {
    const loaded = parseRoutes(text, { CRED_PROXY_TOKEN_0: ANT, CRED_PROXY_TOKEN_1: GH });
    assert.equal(loaded.status, "ok");
    const missing = parseRoutes(text, { CRED_PROXY_TOKEN_0: ANT });
    assert.equal(missing.status, "invalid");
  });

  it("is copied in with mode 600; the container spec carries no token, start adds them", () => {
    assert.equal(CRED_PROXY.routesMode, 0o600);
    const docker = prepareDocker({
      plan,
      instance: "dev-0123abcd",
      images: { agent: "a", sidecar: "s" },
      answers: {},
      owner: { pid: 1, mode: "detached" },
      logDir: "/tmp/logs",
      hostUser: { uid: 1000, gid: 1000 },
    });
    const spec = credProxySidecar.spec(docker);
    assert.equal(spec.name, "cb-dev-0123abcd-cred-proxy");
    assert.deepEqual(spec.networkAliases, ["cred-proxy"]);
    assert.equal(spec.network, "cb-dev-0123abcd-internal-network");
    assert.deepEqual(spec.capDrop, ["ALL"]);
    const printed = JSON.stringify(spec);
    assert.ok(!printed.includes(GH) && !printed.includes(ANT));
    assert.ok(!JSON.stringify(docker.agent).includes(GH), "the agent's spec holds no token");
    assert.equal(docker.agent.env?.ANTHROPIC_BASE_URL, "http://cred-proxy:9099/anthropic");
    assert.equal(docker.agent.env?.CLAUDE_CODE_OAUTH_TOKEN, PLACEHOLDER_TOKEN);
  });

  it("lets egress-proxy pass each token only to its own hosts (known_tokens), never the value", () => {
    const config = renderEgressConfig(plan) as { dlp: { known_tokens: { name: string; host: string }[] } };
    assert.deepEqual(
      config.dlp.known_tokens.map((t) => [t.name, t.host]),
      [
        ["CRED_PROXY_TOKEN_0", "api.anthropic.com"],
        ["CRED_PROXY_TOKEN_1", "github.com"],
        ["CRED_PROXY_TOKEN_1", "api.github.com"],
      ],
    );
    assert.ok(!JSON.stringify(config).includes(GH));
  });

  it("shows routes and token refs in --format json", () => {
    const json = planToJson(plan) as { cred_proxy: { routes: { path: string; token_ref: string }[] } };
    assert.deepEqual(
      json.cred_proxy.routes.map((r) => [r.path, r.token_ref]),
      [
        ["/anthropic", "ANT_TOKEN"],
        ["/gh", "GH_TOKEN"],
        ["/gh/api", "GH_TOKEN"],
      ],
    );
  });
});

describe("agent role files", () => {
  it("anthropic-base-url: a placeholder API key for x-api-key routes, an OAuth placeholder for Bearer", () => {
    const apiKey = planOf(
      `cred_proxy:\n  routes:\n    - {path: /a, upstream: "https://api.anthropic.com", auth_scheme: x-api-key, token_ref: ANT_TOKEN, role: anthropic-base-url}`,
    );
    assert.deepEqual(credProxyAgentEnv(apiKey), {
      ANTHROPIC_BASE_URL: "http://cred-proxy:9099/a",
      ANTHROPIC_API_KEY: PLACEHOLDER_TOKEN,
    });
    assert.deepEqual(credProxyAgentEnv(planOf("env: {}")), {});
  });

  it("npm-registry: ~/.npmrc names the route and a placeholder token scoped to it", () => {
    assert.equal(
      npmrcText(planOf(ROUTES)),
      `# Written by claude-bottle: the registry is reached through cred-proxy, which holds the token.\nregistry=http://cred-proxy:9099/gh/api/\n//cred-proxy:9099/gh/api/:_authToken=${PLACEHOLDER_TOKEN}\n`,
    );
  });

  it("tea-login: one login per route, the first the default, a placeholder token", () => {
    const text = teaConfigText(planOf(ROUTES)) ?? "";
    assert.match(text, /url: "http:\/\/cred-proxy:9099\/gh"/);
    assert.match(text, /default: true/);
    assert.match(text, new RegExp(`token: "${PLACEHOLDER_TOKEN}"`));
  });

  it("copies the files owned by uid 1000, secrets-free", () => {
    const files = credProxyAgentFiles(planOf(ROUTES));
    assert.deepEqual(
      files.map((f) => [f.path, f.uid, f.mode?.toString(8)]),
      [
        ["home/node/.npmrc", 1000, "600"],
        ["home/node/.config/tea/config.yml", 1000, "600"],
        ["home/node/.config/claude-bottle/cred-proxy.gitconfig", 1000, "644"],
      ],
    );
    assert.ok(!files.some((f) => String(f.content).includes(GH)));
  });
});

describe("git-insteadof rule matrix", () => {
  const route = (upstream: string, role = "git-insteadof") =>
    `    - {path: /r${Math.abs(upstream.length)}, upstream: "${upstream}", auth_scheme: token, token_ref: GH_TOKEN, role: ${role}}`;
  const cases: { name: string; upstream: string; git: boolean; role?: string; rule: boolean }[] = [
    {
      name: "host not in bottle.git: rewritten",
      upstream: "https://gitea.example.com",
      git: false,
      rule: true,
    },
    {
      name: "host in bottle.git: suppressed (git-gate owns it)",
      upstream: "https://github.com",
      git: true,
      rule: false,
    },
    {
      name: "another host while bottle.git has github.com: rewritten",
      upstream: "https://gitea.example.com",
      git: true,
      rule: true,
    },
    {
      name: "host in bottle.git, upper case in the route: suppressed",
      upstream: "https://GitHub.com",
      git: true,
      rule: false,
    },
    {
      name: "no git-insteadof role: nothing",
      upstream: "https://gitea.example.com",
      git: false,
      role: "tea-login",
      rule: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planOf(`cred_proxy:\n  routes:\n${route(c.upstream, c.role)}\n${c.git ? GIT : ""}`);
      const rules = insteadOfRules(plan);
      assert.equal(rules.length, c.rule ? 1 : 0);
      assert.equal(gitconfigText(plan) === undefined, !c.rule);
    });
  }

  it("writes a url.<cred-proxy>.insteadOf section with the upstream as prefix", () => {
    const plan = planOf(
      `cred_proxy:\n  routes:\n    - {path: /gitea, upstream: "https://gitea.example.com/sub", auth_scheme: token, token_ref: GH_TOKEN, role: git-insteadof}`,
    );
    assert.equal(
      gitconfigText(plan),
      `# Written by claude-bottle: HTTPS git traffic to these upstreams goes through cred-proxy.\n[url "http://cred-proxy:9099/gitea/"]\n\tinsteadOf = "https://gitea.example.com/sub/"\n`,
    );
  });
});

describe("egress.upstream_ca", () => {
  it("expands ~/, is mounted read-only into the egress proxy only, and listed in its config", () => {
    const plan = planOf("egress:\n  upstream_ca: [~/ca/internal.pem, /etc/ca/other.pem]");
    assert.deepEqual(plan.egress.upstreamCa, ["/home/u/ca/internal.pem", "/etc/ca/other.pem"]);
    const config = renderEgressConfig(plan) as { upstream_ca: string[] };
    assert.deepEqual(config.upstream_ca, [
      "/etc/claude-bottle/upstream-ca/0.pem",
      "/etc/claude-bottle/upstream-ca/1.pem",
    ]);
    const docker = prepareDocker({
      plan,
      instance: "dev-0123abcd",
      images: { agent: "a", sidecar: "s" },
      answers: {},
      owner: { pid: 1, mode: "detached" },
      logDir: "/tmp/logs",
      hostUser: { uid: 1000, gid: 1000 },
    });
    assert.deepEqual(egressProxySidecar.spec(docker).mounts?.slice(1), [
      { source: "/home/u/ca/internal.pem", target: "/etc/claude-bottle/upstream-ca/0.pem", readOnly: true },
      { source: "/etc/ca/other.pem", target: "/etc/claude-bottle/upstream-ca/1.pem", readOnly: true },
    ]);
    assert.equal(docker.agent.mounts, undefined);
    assert.deepEqual(
      (planToJson(plan) as { egress: { upstream_ca: string[] } }).egress.upstream_ca,
      plan.egress.upstreamCa,
    );
  });

  it("refuses a relative path, naming the key", () => {
    using fixture = tempHome();
    fixture.write("bottles/work.md", manifest("egress:\n  upstream_ca: [ca.pem]"));
    fixture.write("agents/dev.md", manifest("bottle: work"));
    const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    assert.throws(() => catalog.bottle("work"), /upstream_ca.*absolute path/s);
  });
});
