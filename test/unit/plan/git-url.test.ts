import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSshGitUrl } from "../../../src/lib/git-url.ts";

describe("parseSshGitUrl", () => {
  const cases: [string, ReturnType<typeof parseSshGitUrl>][] = [
    ["git@github.com:acme/app.git", { user: "git", host: "github.com", port: 22, path: "acme/app.git" }],
    [
      "ssh://git@host.example:2222/a/b.git",
      { user: "git", host: "host.example", port: 2222, path: "a/b.git" },
    ],
    ["ssh://deploy@[::1]:22/repo", { user: "deploy", host: "::1", port: 22, path: "repo" }],
    ["Host.Example:repo.git", { user: "git", host: "host.example", port: 22, path: "repo.git" }],
    ["https://github.com/acme/app.git", undefined],
    ["ssh://git@host:70000/a", undefined],
    ["file:///tmp/repo", undefined],
    ["/tmp/repo", undefined],
  ];
  for (const [url, expected] of cases) {
    it(`${url} → ${expected ? `${expected.host}:${expected.port}` : "refused"}`, () =>
      assert.deepEqual(parseSshGitUrl(url), expected));
  }
});
