import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseSince } from "../../../src/cli/logs-actions.ts";
import { toEvent } from "../../../src/logs/events.ts";
import { eventLine } from "../../../src/logs/format.ts";
import { readLines } from "../../../src/logs/lines.ts";
import { bottleLog } from "../../../src/logs/read.ts";
import { LogSummary } from "../../../src/logs/summary.ts";
import { explain, manifestLine } from "../../../src/logs/why.ts";
import { TERMINAL_CONTROL } from "../../helpers/terminal.ts";

const root = mkdtempSync(join(tmpdir(), "claude-bottle-logs-"));
after(() => rmSync(root, { recursive: true, force: true }));

const egress = (time: string, fields: Record<string, unknown> = {}) => ({
  time,
  id: "0123456789",
  client: "172.20.0.3",
  kind: "request",
  method: "GET",
  scheme: "https",
  host: "api.example",
  port: 443,
  path: "/x",
  decision: "allow",
  rule: "api.example",
  status: 200,
  bytes_in: 100,
  bytes_out: 10,
  duration_ms: 1,
  ...fields,
});

function bottleDir(name: string): string {
  const dir = join(root, name);
  for (const sub of ["egress", "cred-proxy", "git-gate"]) mkdirSync(join(dir, sub), { recursive: true });
  return dir;
}

describe("reading a bottle's logs", () => {
  it("merges every sidecar's lines in time order and filters refusals and time", async () => {
    const dir = bottleDir("merge-0123abcd");
    const lines = (records: unknown[]) => records.map((record) => `${JSON.stringify(record)}\n`).join("");
    writeFileSync(
      join(dir, "egress", "egress-audit.jsonl"),
      lines([
        egress("2026-12-02T10:00:01.000Z"),
        egress("2026-12-02T10:00:04.000Z", {
          decision: "block",
          code: "not-allowlisted",
          host: "evil.example",
          status: 403,
        }),
      ]),
    );
    writeFileSync(
      join(dir, "git-gate", "git-gate-audit.jsonl"),
      lines([
        {
          time: "2026-12-02T10:00:02.000Z",
          kind: "push",
          remote: "origin",
          refs: [{ ref: "refs/heads/main" }],
          outcome: "forwarded",
          commits: 1,
          blobs: 1,
          findings: [],
        },
      ]),
    );
    writeFileSync(
      join(dir, "supervise-audit.jsonl"),
      lines([
        {
          time: "2026-12-02T10:00:03.000Z",
          instance: "x",
          proposal: "abcd0123",
          kind: "egress",
          decision: "approved",
          operator: "me",
          before: "",
          after: "a",
          diff: ["+a"],
        },
      ]),
    );
    const all = [];
    for await (const event of bottleLog(dir).events()) all.push(event);
    assert.deepEqual(
      all.map((event) => `${event.source} ${event.outcome}`),
      ["egress allow", "git-gate forwarded", "supervise approved", "egress block"],
    );
    const blocked = [];
    for await (const event of bottleLog(dir, { blocked: true }).events()) blocked.push(event);
    assert.deepEqual(
      blocked.map((event) => event.host),
      ["evil.example"],
    );
    const recent = [];
    for await (const event of bottleLog(dir, { since: new Date("2026-12-02T10:00:02.500Z") }).events())
      recent.push(event);
    assert.equal(recent.length, 2);
    const pushes = [];
    for await (const event of bottleLog(dir, { sources: ["git-gate"] }).events()) pushes.push(event);
    assert.deepEqual(
      pushes.map((event) => event.kind),
      ["push"],
    );
  });

  it("skips and counts what a compromised sidecar writes: huge lines, non-JSON, wrong shapes; shows escapes as text", async () => {
    const dir = bottleDir("hostile-0123abcd");
    const file = join(dir, "egress", "egress-audit.jsonl");
    writeFileSync(file, `${"x".repeat(300_000)}\nnot json\n{"time":"nope"}\n[1,2]\n`);
    appendFileSync(
      file,
      `${JSON.stringify(egress("2026-12-02T10:00:00.000Z", { path: "/\u001b[2J\u001b]0;owned\u0007x" }))}\n`,
    );
    const log = bottleLog(dir);
    const events = [];
    for await (const event of log.events()) events.push(event);
    assert.equal(events.length, 1);
    assert.equal(log.stats.unreadable, 4);
    const line = eventLine(events[0]!);
    assert.ok(!TERMINAL_CONTROL.test(line), line);
    assert.match(line, /\\x1b\[2J/);
  });

  it("reads a file in constant memory: a line never ended is skipped, not buffered", async () => {
    const file = join(root, "endless.jsonl");
    writeFileSync(file, `{"a":1}\n${"y".repeat(2_000_000)}`);
    let lines = 0;
    let skipped = 0;
    for await (const chunk of readLines(file, { maxLineBytes: 1024 })) {
      lines += chunk.lines.length;
      skipped = chunk.skipped;
    }
    assert.equal(lines, 1);
    assert.equal(skipped, 0, "the unended line is not a line yet");
  });

  it("follows what is appended", async () => {
    const dir = bottleDir("follow-0123abcd");
    const file = join(dir, "egress", "egress-audit.jsonl");
    writeFileSync(file, `${JSON.stringify(egress("2026-12-02T10:00:00.000Z"))}\n`);
    const log = bottleLog(dir);
    for await (const _ of log.events());
    const abort = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const event of log.follow(abort.signal, 20)) {
        seen.push(event.time);
        abort.abort();
      }
    })();
    appendFileSync(file, `${JSON.stringify(egress("2026-12-02T10:00:09.000Z"))}\n`);
    await following;
    assert.deepEqual(seen, ["2026-12-02T10:00:09.000Z"]);
  });
});

describe("logs --summary", () => {
  it("counts hosts with bytes, refusals by code, pushes and decisions", () => {
    const summary = new LogSummary();
    for (const record of [
      egress("2026-12-02T10:00:00.000Z"),
      egress("2026-12-02T10:00:01.000Z"),
      egress("2026-12-02T10:00:02.000Z", {
        decision: "block",
        code: "not-allowlisted",
        host: "evil.example",
      }),
    ])
      summary.add(toEvent("egress", record)!);
    summary.add(toEvent("git-gate", { time: "2026-12-02T10:00:03.000Z", outcome: "rejected-secrets" })!);
    summary.add(toEvent("supervise", { time: "2026-12-02T10:00:04.000Z", decision: "rejected" })!);
    const json = summary.json();
    assert.deepEqual(json.hosts, [
      { host: "api.example", requests: 2, refused: 0, bytes_in: 200, bytes_out: 20 },
      { host: "evil.example", requests: 1, refused: 1, bytes_in: 100, bytes_out: 10 },
    ]);
    assert.deepEqual(json.refusals, { "egress not-allowlisted": 1 });
    assert.deepEqual(json.pushes, { "rejected-secrets": 1 });
    assert.deepEqual(json.decisions, { rejected: 1 });
    assert.match(summary.lines().join("\n"), /api\.example\s+2 requests\s+0 refused/);
  });
});

describe("why", () => {
  const manifest = join(root, "watched.md");
  writeFileSync(
    manifest,
    "---\nname: watched\negress:\n  hosts: {a: b}\n  allowlist:\n    - unused.test\ncred_proxy:\n  routes:\n    - path: /gh\n      upstream: https://api.github.com\n---\nbody\n",
  );

  it("finds the manifest line of a nested key, or of a route", () => {
    assert.deepEqual(manifestLine(manifest, ["egress", "allowlist"]), { line: 5, exact: true });
    assert.deepEqual(manifestLine(manifest, ["cred_proxy", "routes"], "/gh"), { line: 9, exact: true });
    assert.deepEqual(manifestLine(manifest, ["egress", "ip_allowlist"]), { line: 3, exact: false });
  });

  it("names the rule, the manifest line that would allow it and the supervise tool", () => {
    const lines = explain(
      {
        instance: "watched-0123abcd",
        source: "egress",
        record: egress("2026-12-02T10:00:00.000Z", {
          decision: "block",
          code: "not-allowlisted",
          host: "upstream.test",
          port: 8080,
          rule: "no allowlist entry matches upstream.test:8080",
        }),
      },
      { bottle: { name: "watched", file: manifest }, supervise: { enabled: true } },
    ).join("\n");
    assert.match(lines, /code: not-allowlisted/);
    assert.match(lines, /rule: no allowlist entry matches upstream\.test:8080/);
    assert.match(
      lines,
      new RegExp(`to allow it: add \`upstream\\.test:8080\` to egress\\.allowlist in ${manifest}:5`),
    );
    assert.match(lines, /supervise tool `request_egress`/);
  });
});

describe("--since", () => {
  it("takes a duration or a date", () => {
    const now = new Date("2026-12-02T10:00:00Z");
    assert.equal(parseSince("10m", now).toISOString(), "2026-12-02T09:50:00.000Z");
    assert.equal(parseSince("1d", now).toISOString(), "2026-12-01T10:00:00.000Z");
    assert.equal(parseSince("2026-12-01T09:00:00Z").toISOString(), "2026-12-01T09:00:00.000Z");
    assert.throws(() => parseSince("yesterday-ish"), /expected e\.g\. 10m/);
  });
});
