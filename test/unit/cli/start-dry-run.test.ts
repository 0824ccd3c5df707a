import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../../helpers/run-cli.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

const TOKEN = "sk-ant-oat01-DoNotPrintThisToken0123456789";
const DB = "correct-horse-battery-staple-42";

function fixtureWithSecrets() {
  const fixture = tempHome();
  fixture.write(
    "bottles/work.md",
    manifest(`
env:
  DB_PASSWORD: \${DB_PASSWORD}
cred_proxy:
  routes:
    - {path: /anthropic, upstream: "https://api.anthropic.com", auth_scheme: Bearer, token_ref: MY_TOKEN, role: anthropic-base-url}
`),
  );
  fixture.write("agents/dev.md", manifest("bottle: work", "Do the thing."));
  return fixture;
}

describe("claude-bottle start --dry-run", () => {
  it("prints the plan and exits 0 without a secret in text or JSON", () => {
    using fixture = fixtureWithSecrets();
    const env = { CLAUDE_BOTTLE_HOME: fixture.home, MY_TOKEN: TOKEN, DB_PASSWORD: DB };
    for (const format of ["text", "json"]) {
      const result = runCli(["start", "dev", "--dry-run", "--format", format], { env, cwd: fixture.project });
      assert.equal(result.status, 0, result.stderr);
      const output = result.stdout + result.stderr;
      assert.ok(!output.includes(TOKEN) && !output.includes(DB), `secret printed in ${format} output`);
      if (format === "json") {
        const plan = JSON.parse(result.stdout);
        assert.deepEqual(plan.env_names, ["DB_PASSWORD"]);
        assert.equal(plan.cred_proxy.routes[0].token_ref, "MY_TOKEN");
      } else {
        assert.match(result.stdout, /Bottle plan for agent dev/);
      }
    }
  });

  it("works with nothing written: the built-in default agent and bottle", () => {
    using fixture = tempHome();
    const result = runCli(["start", "--dry-run", "--format", "json"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home, ANTHROPIC_API_KEY: "k" },
      cwd: fixture.project,
    });
    assert.equal(result.status, 0, result.stderr);
    const plan = JSON.parse(result.stdout);
    assert.equal(plan.agent.name, "default");
    assert.deepEqual(plan.cred_proxy.routes[0], {
      path: "/anthropic",
      upstream: "https://api.anthropic.com",
      auth_scheme: "anthropic",
      token_ref: "ANTHROPIC_API_KEY",
      slot: "CRED_PROXY_TOKEN_0",
      roles: ["anthropic-base-url"],
    });
  });

  it("a missing ${VAR}: the preview shows it missing (exit 0); a real start exits 2 at file:line:column", () => {
    using fixture = fixtureWithSecrets();
    const env = { CLAUDE_BOTTLE_HOME: fixture.home, MY_TOKEN: TOKEN };
    const preview = runCli(["start", "dev", "--dry-run"], { env, cwd: fixture.project });
    assert.equal(preview.status, 0, preview.stderr);
    assert.match(
      preview.stdout,
      /missing +DB_PASSWORD \(read by env\.DB_PASSWORD\): export it before starting \(not set\)/,
    );
    const result = runCli(["start", "dev", "--yes", "--detach"], { env, cwd: fixture.project });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /^claude-bottle: .*work\.md:3:16: `env\.DB_PASSWORD` reads host variable DB_PASSWORD, which is not set; export it/,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it("malformed YAML exits 2 naming the position", () => {
    using fixture = tempHome();
    fixture.write("agents/bad.md", "---\nskills: [oops\n---\n");
    const result = runCli(["start", "bad", "--dry-run"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home },
      cwd: fixture.project,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /bad\.md:\d+:\d+: invalid YAML/);
  });

  it("an unknown agent exits 2 and lists the known ones", () => {
    using fixture = tempHome();
    const result = runCli(["start", "nobody", "--dry-run"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home },
      cwd: fixture.project,
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no agent named `nobody`.*known agents: default/);
  });

  it("without a terminal and without --yes, start refuses instead of hanging", () => {
    using fixture = fixtureWithSecrets();
    const result = runCli(["start", "dev"], {
      env: { CLAUDE_BOTTLE_HOME: fixture.home, MY_TOKEN: TOKEN, DB_PASSWORD: DB },
      cwd: fixture.project,
    });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /no terminal to confirm the plan on; review it with --dry-run, then pass --yes/,
    );
  });
});

describe("other commands", () => {
  it("--help lists the commands", () => {
    const result = runCli(["--help"]);
    assert.equal(result.status, 0);
    for (const command of ["start", "info", "list", "init", "schema"])
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`));
  });

  it("an unknown option exits 2", () => {
    assert.equal(runCli(["start", "--bogus"]).status, 2);
  });

  it("schema prints a JSON Schema of both file kinds", () => {
    const result = runCli(["schema"]);
    assert.equal(result.status, 0);
    const schema = JSON.parse(result.stdout);
    assert.ok(schema.$defs.bottle.properties.egress);
    assert.ok(schema.$defs.agent.properties.bottle);
    assert.equal(schema.$defs.bottle.additionalProperties, false);
  });

  it("init writes the defaults once and keeps them after", () => {
    using fixture = tempHome();
    const env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const first = runCli(["init"], { env, cwd: fixture.project });
    assert.match(first.stdout, /wrote .*bottles\/default\.md\nwrote .*agents\/default\.md/);
    const second = runCli(["init"], { env, cwd: fixture.project });
    assert.match(second.stdout, /kept .*bottles\/default\.md \(already exists\)/);
    const list = runCli(["list"], { env, cwd: fixture.project });
    assert.match(list.stdout, /default\s+home\s+.*agents\/default\.md → bottle default/);
  });

  it("info shows env names, skills, prompt and git remotes", () => {
    using fixture = tempHome();
    fixture.write(
      "bottles/b.md",
      manifest(
        "env:\n  A: ${X}\n  B: lit\ngit:\n  - {Name: app, Upstream: 'git@github.com:a/b.git', IdentityFile: /k, KnownHostKey: 'ssh-ed25519 AAAA'}",
      ),
    );
    fixture.write("agents/a.md", manifest("bottle: b\nenv:\n  C: ?Your code", "Review the PR.\nCarefully."));
    const result = runCli(["info", "a"], { env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /env\s+A \(from \$X\), B, C \(asked at launch\)/);
    assert.match(result.stdout, /prompt\s+Review the PR\./);
    assert.match(result.stdout, /git\s+app \(git@github\.com:a\/b\.git\)/);
  });
});
