import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManifestError } from "../../../src/manifest/errors.ts";
import { ManifestCatalog } from "../../../src/manifest/loader.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";

function bottleError(frontmatter: string): ManifestError {
  using fixture = tempHome();
  fixture.write("bottles/b.md", manifest(frontmatter));
  const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
  try {
    catalog.bottle("b");
  } catch (error) {
    assert.ok(error instanceof ManifestError, `expected a ManifestError, got ${String(error)}`);
    return error;
  }
  assert.fail("the bottle loaded although it is invalid");
}

describe("bottle manifest errors name file:line:column and what to do", () => {
  const cases: { name: string; yaml: string; line: number; column: number; message: RegExp }[] = [
    {
      name: "unknown top-level key suggests the near one",
      yaml: "egres:\n  allowlist: []",
      line: 2,
      column: 1,
      message: /unknown key `egres`; did you mean `egress`\?/,
    },
    {
      name: "unknown nested key suggests the near one",
      yaml: "egress:\n  allowlst: [a.com]",
      line: 3,
      column: 3,
      message: /unknown key `egress.allowlst`; did you mean `allowlist`\?/,
    },
    {
      name: "unknown key in a git remote",
      yaml: "git:\n  - Name: a\n    Upstrem: git@h.com:a/b.git",
      line: 4,
      column: 5,
      message: /did you mean `Upstream`/,
    },
    {
      name: "removed key ssh points at git",
      yaml: "ssh:\n  - host: github.com",
      line: 2,
      column: 1,
      message: /`ssh` was removed: declare git remotes under `git:`/,
    },
    {
      name: "removed key tokens points at cred_proxy",
      yaml: "tokens: {}",
      line: 2,
      column: 1,
      message: /`tokens` was removed: declare `cred_proxy.routes`/,
    },
    {
      name: "wrong type",
      yaml: "supervise: yes please",
      line: 2,
      column: 12,
      message: /`supervise`: expected true or false/,
    },
    { name: "malformed YAML", yaml: "egress: [unclosed", line: 2, column: 18, message: /invalid YAML/ },
    {
      name: "bare TLD wildcard is refused",
      yaml: "egress:\n  allowlist: ['*.com']",
      line: 3,
      column: 15,
      message: /a wildcard must cover a registrable domain, not a top-level domain/,
    },
    {
      name: "a /0 CIDR is refused",
      yaml: "egress:\n  ip_allowlist: [0.0.0.0/0]",
      line: 3,
      column: 18,
      message: /switch SSRF protection off/,
    },
    {
      name: "env may not override the bottle's own proxy variables",
      yaml: "env:\n  HTTPS_PROXY: http://evil",
      line: 3,
      column: 3,
      message: /set by the bottle itself/,
    },
    {
      name: "duplicate git names",
      yaml: "git:\n  - {Name: a, Upstream: 'git@h.com:a/b.git', IdentityFile: /k, KnownHostKey: 'ssh-ed25519 AAAA'}\n  - {Name: a, Upstream: 'git@h.com:a/c.git', IdentityFile: /k, KnownHostKey: 'ssh-ed25519 AAAA'}",
      line: 4,
      column: 12,
      message: /duplicate git Name/,
    },
    {
      name: "git upstream must be ssh",
      yaml: "git:\n  - {Name: a, Upstream: 'https://h.com/a/b.git', IdentityFile: /k, KnownHostKey: 'ssh-ed25519 AAAA'}",
      line: 3,
      column: 25,
      message: /expected an SSH URL/,
    },
    {
      name: "git remote without host key has no trust on first use",
      yaml: "git:\n  - {Name: a, Upstream: 'git@h.com:a/b.git', IdentityFile: /k}",
      line: 3,
      column: 5,
      message: /KnownHostKey/,
    },
    {
      name: "two anthropic-base-url routes",
      yaml: "cred_proxy:\n  routes:\n    - {path: /a, upstream: 'https://a.com', auth_scheme: Bearer, token_ref: A, role: anthropic-base-url}\n    - {path: /b, upstream: 'https://b.com', auth_scheme: Bearer, token_ref: B, role: anthropic-base-url}",
      line: 5,
      column: 86,
      message: /at most one route may have role anthropic-base-url/,
    },
    {
      name: "route upstream must be https",
      yaml: "cred_proxy:\n  routes:\n    - {path: /a, upstream: 'http://a.com', auth_scheme: Bearer, token_ref: A}",
      line: 4,
      column: 28,
      message: /https:\/\/ URL/,
    },
  ];
  for (const { name, yaml, line, column, message } of cases) {
    it(name, () => {
      const error = bottleError(yaml);
      assert.match(error.message, message);
      assert.deepEqual([error.position.line, error.position.column], [line, column], error.message);
      assert.match(error.message, /^bottles\/b\.md:\d+:\d+: |^\/.*b\.md:\d+:\d+: /);
      assert.equal(error.exitCode, 2);
    });
  }

  it("a file without frontmatter says how to write one", () => {
    using fixture = tempHome();
    fixture.write("bottles/b.md", "just text\n");
    const catalog = new ManifestCatalog({ env: { CLAUDE_BOTTLE_HOME: fixture.home }, cwd: fixture.project });
    assert.throws(() => catalog.bottle("b"), /:1:1: missing YAML frontmatter/);
  });

  it("never quotes the offending value, which may be a secret", () => {
    const error = bottleError("env:\n  TOKEN: [ghp_notavaluetoprint]");
    assert.doesNotMatch(error.message, /ghp_notavaluetoprint/);
  });
});
