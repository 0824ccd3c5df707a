import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  validateDockerfile,
  validateEgressUrl,
  validateJustification,
  validateRoutes,
} from "../../../src/contracts/supervise-validate.ts";
import { lineDiff } from "../../../src/supervise/diff.ts";

describe("egress request validation", () => {
  const cases: [string, string][] = [
    ["https://pypi.org/simple/", "pypi.org:443"],
    ["http://upstream.test:8080/x?y=1", "upstream.test:8080"],
    ["PyPI.ORG.", "pypi.org:443"],
    ["wss://ws.example.com/socket", "ws.example.com:443"],
    ["http://2130706433/", "127.0.0.1:80"],
    ["http://[::1]:81/", "[::1]:81"],
    ["https://bücher.example/", "xn--bcher-kva.example:443"],
  ];
  for (const [url, entry] of cases) {
    it(`asks for ${entry} when ${url} was refused`, () => {
      const result = validateEgressUrl(url, []);
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.value.entry, entry);
    });
  }

  const bad: [unknown, RegExp][] = [
    ["", /give the URL/],
    [42, /give the URL/],
    ["ftp://x.example/", /scheme ftp: is not proxied/],
    ["https://exa mple.com/", /not a URL|not a valid host/],
    ["https://a.api.github.com/", /already allowed by the allowlist entry `\*\.github\.com`/],
  ];
  for (const [url, problem] of bad) {
    it(`refuses ${JSON.stringify(url)}`, () => {
      const result = validateEgressUrl(url, ["*.github.com", "pypi.org:8443"]);
      assert.ok(!result.ok);
      assert.match(result.problems.join("\n"), problem);
    });
  }

  it("treats an entry for another port as not covering", () => {
    assert.ok(validateEgressUrl("https://pypi.org/", ["pypi.org:8443"]).ok);
  });
});

describe("justification", () => {
  it("is required and bounded", () => {
    assert.ok(!validateJustification("  ").ok);
    assert.ok(!validateJustification(undefined).ok);
    assert.ok(!validateJustification("x".repeat(4001)).ok);
    assert.deepEqual(validateJustification(" why "), { ok: true, value: "why" });
  });
});

describe("routes validation", () => {
  const current = [
    {
      path: "/gh",
      upstream: "https://api.github.com",
      auth_scheme: "token" as const,
      slot: "CRED_PROXY_TOKEN_0",
      roles: [],
    },
  ];
  it("accepts a new route on a held slot", () => {
    const result = validateRoutes(
      [
        ...current,
        {
          path: "/gh-up",
          upstream: "https://uploads.github.com",
          auth_scheme: "token",
          slot: "CRED_PROXY_TOKEN_0",
        },
      ],
      current,
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.value[1]?.roles, []);
  });
  it("names every problem by key path", () => {
    const result = validateRoutes(
      [
        { path: "gh", upstream: "http://x", auth_scheme: "Basic", slot: "GH_TOKEN", extra: 1 },
        { path: "/gh", upstream: "https://x.example/?q=1", auth_scheme: "token", slot: "CRED_PROXY_TOKEN_0" },
        { path: "/gh", upstream: "https://x.example", auth_scheme: "token", slot: "CRED_PROXY_TOKEN_0" },
        "nope",
      ],
      current,
    );
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((problem) => problem.split(":")[0]),
      [
        "routes.0.extra",
        "routes.0.path",
        "routes.0.upstream",
        "routes.0.auth_scheme",
        "routes.0.slot",
        "routes.1.upstream",
        "routes.2.path",
        "routes.3",
      ],
    );
  });
  it("refuses a list identical to the current one", () => {
    const result = validateRoutes(structuredClone(current), current);
    assert.ok(!result.ok);
    assert.match(result.problems[0] ?? "", /identical/);
  });
});

describe("Dockerfile validation", () => {
  it("requires FROM first, the current FROM, a bound, and a change", () => {
    assert.ok(validateDockerfile("# x\nFROM a\nRUN b\n", "FROM a\n").ok);
    assert.ok(!validateDockerfile("ARG BASE=a\nFROM ${BASE}\n", undefined).ok);
    assert.ok(!validateDockerfile("RUN b\n", undefined).ok);
    assert.ok(!validateDockerfile("FROM a\n", "FROM a\n").ok);
    assert.ok(!validateDockerfile(`FROM a\n${"#".repeat(70_000)}`, undefined).ok);
    const other = validateDockerfile("FROM evil.example/agent\nRUN b\n", "FROM a\n");
    assert.ok(!other.ok);
    assert.match(other.problems.join("\n"), /FROM must stay `a`/);
  });
});

describe("line diff", () => {
  it("marks added and removed lines and keeps the rest", () => {
    assert.deepEqual(lineDiff("a\nb\nc\n", "a\nc\nd\n"), [" a", "-b", " c", "+d"]);
    assert.deepEqual(lineDiff("", "x\n"), ["+x"]);
    assert.deepEqual(lineDiff("x\n", "x\n"), [" x"]);
  });
  it("falls back to replace-whole beyond its work bound", () => {
    assert.deepEqual(lineDiff("a\nb\n", "c\nd\n", 1), ["-a", "-b", "+c", "+d"]);
  });
});
