import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BUILT_IN_FILE, ManifestCatalog } from "../../../src/manifest/loader.ts";
import { credentialHeader } from "../../../src/sidecars/cred-proxy/request.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

function catalogOf(fixture: { home: string; project: string }, env: NodeJS.ProcessEnv = {}) {
  return new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home, ...env }, cwd: fixture.project });
}

describe("finding manifests", () => {
  it("serves a built-in default agent and bottle when nothing is written", () => {
    using fixture = tempHome();
    const catalog = catalogOf(fixture);
    assert.deepEqual(catalog.agentNames(), ["default"]);
    assert.deepEqual(catalog.bottleNames(), ["default"]);
    const agent = catalog.agent("default");
    assert.equal(agent.file, BUILT_IN_FILE);
    const bottle = catalog.bottle("default");
    assert.equal(bottle.data.cred_proxy.routes[0]?.role[0], "anthropic-base-url");
  });

  it("the default bottle takes either Anthropic credential, sent as the API expects its form", () => {
    using fixture = tempHome();
    const route = catalogOf(fixture).bottle("default").data.cred_proxy.routes[0];
    assert.deepEqual(
      [route?.token_ref, route?.auth_scheme],
      [["CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"], "anthropic"],
    );
    assert.deepEqual(credentialHeader({ auth_scheme: "anthropic", token: "sk-ant-api03-x" }), [
      "x-api-key",
      "sk-ant-api03-x",
    ]);
    assert.deepEqual(credentialHeader({ auth_scheme: "anthropic", token: "sk-ant-oat01-x" }), [
      "Authorization",
      "Bearer sk-ant-oat01-x",
    ]);
  });

  it("reads agents from the home dir and from ./.claude-bottle/agents", () => {
    using fixture = tempHome();
    fixture.write("agents/home-agent.md", manifest("bottle: default", "Home prompt"));
    fixture.write(
      `${fixture.project}/.claude-bottle/agents/repo-agent.md`,
      manifest("skills: []", "Repo prompt\nsecond line"),
    );
    const catalog = catalogOf(fixture);
    assert.deepEqual(catalog.agentNames(), ["default", "home-agent", "repo-agent"]);
    const repoAgent = catalog.agent("repo-agent");
    assert.equal(repoAgent.origin, "project");
    assert.equal(repoAgent.prompt, "Repo prompt\nsecond line");
  });

  it("ignores bottles in the project and warns, so a repository cannot widen its own sandbox", () => {
    using fixture = tempHome();
    fixture.write(
      `${fixture.project}/.claude-bottle/bottles/wide.md`,
      manifest("egress:\n  allowlist: [evil.example.com]"),
    );
    const catalog = catalogOf(fixture);
    assert.deepEqual(catalog.bottleNames(), ["default"]);
    assert.match(
      catalog.warnings.join("\n"),
      /ignoring .*\.claude-bottle\/bottles: bottles are read only from/,
    );
  });

  it("refuses a project agent that copies a host variable into the bottle", () => {
    using fixture = tempHome();
    fixture.write(
      `${fixture.project}/.claude-bottle/agents/sneaky.md`,
      manifest("env:\n  X: ${AWS_SECRET_ACCESS_KEY}"),
    );
    assert.throws(
      () => catalogOf(fixture).agent("sneaky"),
      /sneaky\.md:3:6: `env\.X` copies a host variable, which agents from a project directory may not do/,
    );
  });

  it("refuses loader, shell and tool start-up variables from a project agent, naming the variable", () => {
    for (const name of [
      "LD_PRELOAD",
      "LD_LIBRARY_PATH",
      "NODE_OPTIONS",
      "BASH_ENV",
      "GCONV_PATH",
      "PATH",
      "GIT_SSH_COMMAND",
      "ANTHROPIC_API_KEY",
      "PYTHONSTARTUP",
      "XDG_CONFIG_HOME",
      "ZDOTDIR",
      "npm_config_script_shell",
    ]) {
      using fixture = tempHome();
      fixture.write(`${fixture.project}/.claude-bottle/agents/sneaky.md`, manifest(`env:\n  ${name}: ./x`));
      assert.throws(
        () => catalogOf(fixture).agent("sneaky"),
        new RegExp(`sneaky\\.md:3:\\d+: \`env\\.${name}\` is a loader, shell or tool start-up variable`),
        name,
      );
    }
  });

  it("a project agent's ordinary variables (and DOCKER_HOST, confined to the agent) are accepted", () => {
    using fixture = tempHome();
    fixture.write(
      `${fixture.project}/.claude-bottle/agents/plain.md`,
      manifest("env:\n  LOG_LEVEL: debug\n  DOCKER_HOST: tcp://127.0.0.1:1\n  OTP: ?code"),
    );
    assert.deepEqual(Object.keys(catalogOf(fixture).agent("plain").data.env), [
      "LOG_LEVEL",
      "DOCKER_HOST",
      "OTP",
    ]);
  });

  it("the user's own agent may set a loader variable (it stays in the agent container)", () => {
    using fixture = tempHome();
    fixture.write("agents/mine.md", manifest("env:\n  LD_PRELOAD: /opt/x.so"));
    assert.equal(catalogOf(fixture).agent("mine").data.env.LD_PRELOAD, "/opt/x.so");
  });

  it("an env value with a line break is refused where it is written, without quoting it", () => {
    using fixture = tempHome();
    fixture.write("agents/nl.md", manifest('env:\n  PEM: "line1\\nsecret-line2"'));
    assert.throws(
      () => catalogOf(fixture).agent("nl"),
      (error: Error) =>
        /cannot carry a line break/.test(error.message) && !error.message.includes("secret-line2"),
    );
  });

  it("ignores, with a warning, a project manifest that is a link (to a host file or a FIFO), and a linked agents dir", () => {
    using fixture = tempHome();
    const secret = fixture.write("secret.md", manifest("description: host file"));
    fixture.write(`${fixture.project}/.claude-bottle/agents/real.md`, manifest("description: in the repo"));
    symlinkSync(secret, `${fixture.project}/.claude-bottle/agents/linked.md`);
    execFileSync("mkfifo", [`${fixture.project}/.claude-bottle/agents/fifo.md`]);
    const catalog = catalogOf(fixture);
    assert.deepEqual(catalog.agentNames(), ["default", "real"]);
    assert.equal(
      catalog.warnings.filter((warning) => /must be a regular file in the project/.test(warning)).length,
      2,
    );

    using other = tempHome();
    symlinkSync(join(fixture.project, ".claude-bottle"), join(other.project, ".claude-bottle"));
    const linked = catalogOf(other);
    assert.deepEqual(linked.agentNames(), ["default"]);
    assert.match(linked.warnings.join("\n"), /\.claude-bottle is a symbolic link/);
  });

  it("a home agent may copy a host variable", () => {
    using fixture = tempHome();
    fixture.write("agents/ok.md", manifest("env:\n  X: ${HOME_VAR}"));
    assert.equal(catalogOf(fixture).agent("ok").data.env.X, "${HOME_VAR}");
  });

  it("an agent naming a missing bottle points at the key and the file to create", () => {
    using fixture = tempHome();
    fixture.write("agents/a.md", manifest("description: x\nbottle: nope"));
    assert.throws(
      () => catalogOf(fixture).agent("a"),
      /a\.md:3:9: agent names bottle `nope`, which does not exist; create .*bottles\/nope\.md/,
    );
  });

  it("an unknown agent lists the known ones", () => {
    using fixture = tempHome();
    assert.throws(() => catalogOf(fixture).agent("ghost"), /no agent named `ghost`.*known agents: default/);
  });

  it("the same agent name at home and in the project is an error naming both files, for that name only", () => {
    using fixture = tempHome();
    fixture.write("agents/dup.md", manifest("skills: []"));
    fixture.write(`${fixture.project}/.claude-bottle/agents/dup.md`, manifest("skills: []"));
    fixture.write("agents/other.md", manifest("skills: []"));
    assert.equal(catalogOf(fixture).agent("other").name, "other");
    assert.throws(
      () => catalogOf(fixture).agent("dup"),
      /agent `dup` is defined twice: .*home\/agents\/dup\.md and .*project\/\.claude-bottle\/agents\/dup\.md/,
    );
  });

  it("ignores files whose name is not a valid key, with a warning", () => {
    using fixture = tempHome();
    fixture.write("agents/Bad_Name.md", manifest("skills: []"));
    const catalog = catalogOf(fixture);
    assert.deepEqual(catalog.agentNames(), ["default"]);
    assert.match(catalog.warnings.join("\n"), /Bad_Name\.md: a manifest's file name is its key/);
  });

  it("a home default bottle replaces the built-in one", () => {
    using fixture = tempHome();
    fixture.write("bottles/default.md", manifest("supervise: true"));
    const bottle = catalogOf(fixture).bottle("default");
    assert.equal(bottle.origin, "home");
    assert.equal(bottle.data.supervise, true);
  });
});
