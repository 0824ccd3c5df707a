import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { egressConfigSchema } from "../../../src/contracts/egress-proxy.ts";
import { ManifestCatalog } from "../../../src/manifest/loader.ts";
import { buildPlan } from "../../../src/plan/bottle-plan.ts";
import { renderEgressConfig } from "../../../src/plan/egress-config.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

// The plan renders the proxy's config (src/plan/egress-config.ts); this proves the proxy's schema
// accepts what the plan renders, so a launch cannot hand the sidecar a config it refuses.
const BOTTLE = `
cred_proxy:
  routes:
    - {path: /github, upstream: "https://api.github.com", auth_scheme: token, token_ref: GH_TOKEN}
egress:
  allowlist: [pypi.org, "*.example.org", "files.example.com:8080"]
  ip_allowlist: [10.0.0.0/24]
supervise: true
`;

describe("the plan's egress config", () => {
  it("is accepted by the egress-proxy schema, with token fingerprints and no token values", () => {
    using fixture = tempHome();
    fixture.write("bottles/work.md", manifest(BOTTLE));
    fixture.write("agents/dev.md", manifest("bottle: work", "Do it."));
    const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    const token = ["ghp_", "abcdefghijklmnopqrstuvwxyz0123456789"].join("");
    const plan = buildPlan({
      agent: catalog.agent("dev"),
      bottle: catalog.bottle("work"),
      env: { GH_TOKEN: token },
      skills: {},
      homeDir: "/home/u",
    });
    const rendered = renderEgressConfig(plan, { internalCidr: "172.28.0.0/16" });
    const parsed = egressConfigSchema.safeParse(rendered);
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    assert.equal(parsed.data.supervise, true);
    assert.deepEqual(parsed.data.ssrf.ip_allowlist, ["10.0.0.0/24", "172.28.0.0/16"]);
    const known = parsed.data.dlp.known_tokens.find((t) => t.host === "api.github.com");
    assert.match(known?.sha256 ?? "", /^[0-9a-f]{64}$/);
    assert.equal(known?.length, token.length);
    assert.equal(JSON.stringify(rendered).includes(token), false);
    // No Anthropic route through cred-proxy: the agent holds its own login, and the API is
    // passthrough for it.
    assert.deepEqual(parsed.data.passthrough_clients, []);
  });

  it("tunnels the Anthropic API only for cred-proxy when cred-proxy carries the Anthropic route", () => {
    using fixture = tempHome();
    fixture.write(
      "bottles/work.md",
      manifest(`
cred_proxy:
  routes:
    - {path: /anthropic, upstream: "https://api.anthropic.com", auth_scheme: x-api-key, token_ref: ANTHROPIC_API_KEY, role: anthropic-base-url}
`),
    );
    fixture.write("agents/dev.md", manifest("bottle: work", "Do it."));
    const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    const plan = buildPlan({
      agent: catalog.agent("dev"),
      bottle: catalog.bottle("work"),
      env: { ANTHROPIC_API_KEY: "the-bottles-own-key" },
      skills: {},
      homeDir: "/home/u",
    });
    const parsed = egressConfigSchema.parse(renderEgressConfig(plan));
    assert.deepEqual(parsed.passthrough, ["api.anthropic.com"]);
    assert.deepEqual(parsed.passthrough_clients, ["cred-proxy"]);
  });
});
