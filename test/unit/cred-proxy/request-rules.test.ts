import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGitPush, pushedRepository } from "../../../src/sidecars/common/git-push.ts";
import { upstreamRequestHeaders, upstreamTarget } from "../../../src/sidecars/cred-proxy/request.ts";
import { type ActiveRoute, matchRoute, tokensFromEnv } from "../../../src/sidecars/cred-proxy/routes.ts";

function route(
  path: string,
  upstream: string,
  auth_scheme: ActiveRoute["auth_scheme"] = "Bearer",
): ActiveRoute {
  return {
    path,
    upstream,
    auth_scheme,
    slot: "CRED_PROXY_TOKEN_0",
    roles: [],
    target: new URL(upstream),
    token: "T0K",
  };
}

describe("git push predicate", () => {
  const cases: [string, boolean][] = [
    ["/gh/acme/app.git/info/refs?service=git-receive-pack", true],
    ["/gh/acme/app.git/git-receive-pack", true],
    ["/gh/acme/app.git/git-receive-pack/", true],
    ["/gh/acme/app/GIT-RECEIVE-PACK", true],
    ["/gh/acme/app.git%2Fgit-receive-pack", true],
    ["/gh/acme/app.git/git%2Dreceive-pack", true],
    ["/gh/acme/app.git/info/refs?foo=1&service=git-receive-pack", true],
    ["/gh/acme/app.git/info/refs?service=git-upload-pack&service=git-receive-pack", true],
    ["/gh/acme/app.git/info/refs?service=git-upload-pack", false],
    ["/gh/acme/app.git/git-upload-pack", false],
    ["/gh/acme/app.git/info/refs", false],
    ["/gh/repos/acme/git-receive-pack-docs", false],
    ["/gh/search?q=git-receive-pack", false],
  ];
  for (const [url, push] of cases) {
    it(`${push ? "refuses" : "passes"} ${url}`, () => assert.equal(isGitPush(url), push));
  }
  it("names the pushed repository", () => {
    assert.equal(pushedRepository("/acme/app.git/git-receive-pack"), "acme/app");
    assert.equal(pushedRepository("/acme/app.git/info/refs?service=git-receive-pack"), "acme/app");
  });
});

describe("route matching", () => {
  const routes = [
    route("/gh/api", "https://api.github.com"),
    route("/gh", "https://github.com"),
    route("/git", "https://g.test"),
  ];
  const cases: [string, string | undefined][] = [
    ["/gh", "/gh"],
    ["/gh/", "/gh"],
    ["/gh?x=1", "/gh"],
    ["/gh/api/user", "/gh/api"],
    ["/gh/apix", "/gh"],
    ["/github/x", undefined],
    ["/gitx", undefined],
    ["/", undefined],
  ];
  for (const [url, expected] of cases) {
    it(`${url} → ${expected ?? "no route"}`, () => assert.equal(matchRoute(routes, url)?.path, expected));
  }
});

describe("upstream target", () => {
  const cases: [string, string, string | undefined][] = [
    ["https://api.github.com", "/gh/user/repos?page=2", "/user/repos?page=2"],
    ["https://api.github.com", "/gh", "/"],
    ["https://api.github.com", "/gh?x=1", "/?x=1"],
    ["https://host.test/api/v4", "/gh/projects", "/api/v4/projects"],
    ["https://host.test/api/v4", "/gh", "/api/v4"],
    ["https://host.test", "/gh/a%20b", "/a%20b"],
    ["https://host.test/api", "/gh/../admin", undefined],
    ["https://host.test/api", "/gh/%2e%2E/admin", undefined],
    ["https://host.test/api", "/gh/x/.%2E%5cadmin", undefined],
    ["https://host.test/api", "/gh/%E0%A4%A", undefined],
  ];
  for (const [upstream, url, expected] of cases) {
    it(`${upstream} + ${url} → ${expected ?? "refused"}`, () => {
      const target = upstreamTarget(route("/gh", upstream), url);
      assert.equal(target.ok ? target.path : undefined, expected);
    });
  }
});

describe("request header rewriting", () => {
  const raw = [
    "Host",
    "cred-proxy:9099",
    "Authorization",
    "Bearer agent-made-up",
    "authorization",
    "Basic second-one",
    "X-Api-Key",
    "agent-key",
    "Proxy-Authorization",
    "Basic x",
    "Connection",
    "keep-alive, X-Drop-Me",
    "X-Drop-Me",
    "1",
    "Transfer-Encoding",
    "chunked",
    "Expect",
    "100-continue",
    "X-Bottle-Block",
    "forged",
    "Accept",
    "text/event-stream",
    "anthropic-beta",
    "oauth-2025-04-20",
  ];
  const pairs = (flat: string[]) =>
    flat.flatMap((_, i) => (i % 2 ? [] : [[flat[i]?.toLowerCase(), flat[i + 1]]]));

  for (const [scheme, header] of [
    ["Bearer", ["authorization", "Bearer T0K"]],
    ["token", ["authorization", "token T0K"]],
    ["x-api-key", ["x-api-key", "T0K"]],
  ] as const) {
    it(`drops every client credential and hop-by-hop header and injects ${scheme} once`, () => {
      const out = pairs(upstreamRequestHeaders(raw, route("/a", "https://api.test:8443", scheme)));
      assert.deepEqual(out, [
        ["accept", "text/event-stream"],
        ["anthropic-beta", "oauth-2025-04-20"],
        ["host", "api.test:8443"],
        [...header],
      ]);
    });
  }
});

describe("tokens from the environment", () => {
  it("takes CRED_PROXY_TOKEN_<n> only", () => {
    assert.deepEqual(
      tokensFromEnv({
        CRED_PROXY_TOKEN_0: "a",
        CRED_PROXY_TOKEN_12: "b",
        PATH: "/bin",
        CRED_PROXY_TOKEN_X: "c",
      }),
      {
        CRED_PROXY_TOKEN_0: "a",
        CRED_PROXY_TOKEN_12: "b",
      },
    );
  });
  it("refuses a value that would split a header, naming the slot and never the value", () => {
    assert.throws(
      () => tokensFromEnv({ CRED_PROXY_TOKEN_3: "abc\r\nX-Evil: 1" }),
      (error: Error) => {
        assert.match(error.message, /CRED_PROXY_TOKEN_3/);
        assert.ok(!error.message.includes("abc"));
        return true;
      },
    );
  });
});
