import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Proposal } from "../../../src/contracts/supervise.ts";
import { ProposalQueue } from "../../../src/contracts/supervise-queue.ts";

function egress(id: string, createdAt: string, instance = "a-00000000"): Proposal {
  return {
    version: 1,
    id,
    instance,
    createdAt,
    deadline: new Date(Date.parse(createdAt) + 60_000).toISOString(),
    justification: "needed",
    kind: "egress",
    url: "https://x.example/",
    entry: "x.example:443",
  };
}

describe("the proposal queue", () => {
  let root: string;
  let queue: ProposalQueue;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "supervise-queue-"));
    queue = new ProposalQueue(join(root, "q"));
    queue.ensure();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lists pending proposals oldest first", () => {
    queue.submit(egress("00000002", "2026-01-01T00:00:02.000Z"));
    queue.submit(egress("00000001", "2026-01-01T00:00:01.000Z"));
    queue.submit(egress("00000003", "2026-01-01T00:00:03.000Z"));
    assert.deepEqual(
      queue.pending().proposals.map((proposal) => proposal.id),
      ["00000001", "00000002", "00000003"],
    );
  });

  it("reports malformed files by key path and never acts on them", () => {
    writeFileSync(join(root, "q", "pending", "0000000a.json"), "{ not json");
    writeFileSync(
      join(root, "q", "pending", "0000000b.json"),
      JSON.stringify({ ...egress("0000000b", "2026-01-01T00:00:00.000Z"), kind: "rm -rf" }),
    );
    writeFileSync(
      join(root, "q", "pending", "0000000c.json"),
      JSON.stringify(egress("0000000d", "2026-01-01T00:00:00.000Z")),
    );
    writeFileSync(join(root, "q", "pending", "half-written.json.123.tmp"), "{");
    const { proposals, problems } = queue.pending();
    assert.deepEqual(proposals, []);
    assert.deepEqual(
      problems.map((problem) => [problem.file.split("/").pop(), problem.issues[0]]),
      [
        ["0000000a.json", "(file): not valid JSON"],
        ["0000000b.json", "kind: Invalid discriminator value. Expected 'egress' | 'routes' | 'capability'"],
        ["0000000c.json", "id: does not match the file name"],
      ],
    );
    assert.equal(queue.claim("0000000a"), undefined, "a malformed proposal cannot be claimed");
  });

  it("lets exactly one of two deciders claim a proposal", () => {
    queue.submit(egress("000000aa", "2026-01-01T00:00:00.000Z"));
    const other = new ProposalQueue(join(root, "q"));
    const first = queue.claim("000000aa");
    const second = other.claim("000000aa");
    assert.ok(first);
    assert.equal(second, undefined);
    assert.equal(queue.pending().proposals.length, 0);
  });

  it("puts a proposal whose apply failed back in pending", () => {
    queue.submit(egress("000000ab", "2026-01-01T00:00:00.000Z"));
    queue.claim("000000ab");
    queue.release("000000ab");
    assert.deepEqual(
      queue.pending().proposals.map((proposal) => proposal.id),
      ["000000ab"],
    );
  });

  it("withdraws on timeout, so an operator can no longer approve it", async () => {
    queue.submit(egress("000000ac", "2026-01-01T00:00:00.000Z"));
    const result = await queue.waitForResponse("000000ac", { deadline: Date.now() + 50, pollMs: 10 });
    assert.deepEqual(result, { status: "timeout" });
    assert.equal(queue.claim("000000ac"), undefined);
    assert.deepEqual(readdirSync(join(root, "q", "pending")), []);
  });

  it("waits past the deadline for a decision already being applied, and returns it", async () => {
    queue.submit(egress("000000ad", "2026-01-01T00:00:00.000Z"));
    assert.ok(queue.claim("000000ad"));
    setTimeout(
      () =>
        queue.respond({
          version: 1,
          id: "000000ad",
          decision: "approved",
          decidedAt: new Date().toISOString(),
        }),
      120,
    );
    const result = await queue.waitForResponse("000000ad", {
      deadline: Date.now() + 20,
      pollMs: 10,
      graceMs: 5000,
    });
    assert.equal(result.status, "decided");
    assert.deepEqual(readdirSync(join(root, "q", "deciding")), []);
    assert.deepEqual(readdirSync(join(root, "q", "responses")), []);
  });

  it("gives up after the grace period when a claimed proposal is never answered", async () => {
    queue.submit(egress("000000ae", "2026-01-01T00:00:00.000Z"));
    queue.claim("000000ae");
    const result = await queue.waitForResponse("000000ae", { deadline: Date.now(), pollMs: 10, graceMs: 50 });
    assert.deepEqual(result, { status: "timeout" });
  });

  it("withdraws when the caller aborts", async () => {
    queue.submit(egress("000000af", "2026-01-01T00:00:00.000Z"));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const result = await queue.waitForResponse("000000af", {
      deadline: Date.now() + 60_000,
      signal: controller.signal,
    });
    assert.deepEqual(result, { status: "aborted" });
    assert.equal(queue.pending().proposals.length, 0);
  });

  it("reads a garbled response as invalid, not as an approval", async () => {
    queue.submit(egress("000000b0", "2026-01-01T00:00:00.000Z"));
    queue.claim("000000b0");
    writeFileSync(join(root, "q", "responses", "000000b0.json"), JSON.stringify({ decision: "approved" }));
    const result = await queue.waitForResponse("000000b0", { deadline: Date.now() + 1000, pollMs: 10 });
    assert.equal(result.status, "invalid-response");
  });

  it("keeps the queues of concurrent bottles apart", () => {
    const other = new ProposalQueue(join(root, "q2"));
    other.ensure();
    queue.submit(egress("000000b1", "2026-01-01T00:00:00.000Z", "a-00000000"));
    other.submit(egress("000000b2", "2026-01-01T00:00:00.000Z", "b-00000000"));
    assert.deepEqual(
      queue.pending().proposals.map((proposal) => proposal.id),
      ["000000b1"],
    );
    assert.equal(queue.claim("000000b2"), undefined);
    assert.ok(other.claim("000000b2"));
  });

  it("withdraws everything left over when a sidecar starts", () => {
    queue.submit(egress("000000b3", "2026-01-01T00:00:00.000Z"));
    queue.submit(egress("000000b4", "2026-01-01T00:00:00.000Z"));
    assert.equal(queue.withdrawAll(), 2);
    assert.equal(queue.pending().proposals.length, 0);
  });
});
