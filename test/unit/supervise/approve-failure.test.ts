import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";
import { writeCurrentConfig } from "../../../src/contracts/supervise-current-config.ts";
import { ProposalQueue } from "../../../src/contracts/supervise-queue.ts";
import { superviseDirs } from "../../../src/lib/home-layout.ts";
import { approve } from "../../../src/supervise/decide.ts";

import { api, egressConfig, fakeBottle, other, routesFile } from "./fake-bottle.ts";

describe("an approval whose apply fails", () => {
  const home = mkdtempSync(join(tmpdir(), "supervise-approve-"));
  after(() => rmSync(home, { recursive: true, force: true }));

  it("keeps the proposal pending, says why, audits the failure and leaves the egress proxy as it was", async () => {
    const dirs = superviseDirs(home, "x");
    const queue = new ProposalQueue(dirs.queue);
    queue.ensure();
    writeCurrentConfig(dirs.currentConfig, { allowlist: egressConfig.allowlist, routes: routesFile });
    const id = queue.newId();
    const now = new Date();
    queue.submit({
      version: 1,
      id,
      instance: "x",
      createdAt: now.toISOString(),
      deadline: new Date(now.getTime() + 60_000).toISOString(),
      justification: "needs the other API",
      kind: "routes",
      routes: [api, other],
    });
    // cred-proxy stops answering on its health port: the apply cannot tell whether a reload took.
    const bottle = fakeBottle({ credProxyAccepts: true, credProxyHealth: false });
    const host = { engine: bottle.engine, home, operator: "op", owner: { uid: 1, gid: 1 } };

    await assert.rejects(
      approve(host, id, { note: "go" }),
      (error: Error & { code?: string; exitCode?: number }) => {
        assert.equal(error.code, "E_APPLY");
        assert.equal(error.exitCode, 1);
        assert.match(
          error.message,
          new RegExp(
            `proposal ${id} was not applied and stays pending: cb-x-cred-proxy does not report its reload generation`,
          ),
        );
        return true;
      },
    );
    assert.deepEqual(
      queue.pending().proposals.map((proposal) => proposal.id),
      [id],
    );
    assert.deepEqual(bottle.signals, ["cb-x-egress-proxy", "cb-x-egress-proxy"], "changed, then rolled back");
    assert.deepEqual(parse(bottle.files.get(`cb-x-egress-proxy:${EGRESS.configFile}`) ?? ""), egressConfig);
    const audit = readFileSync(dirs.auditFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.decision, "apply-failed");
    assert.equal(audit[0]?.before, audit[0]?.after);
    assert.match(String(audit[0]?.error), /does not report its reload generation/);
    // The whole route on one line: path, upstream, scheme and token slot change together.
    assert.ok(
      ((audit[0]?.diff ?? []) as string[]).includes(
        "+route /other-api → https://other.example.com:8443/v2 (token CRED_PROXY_TOKEN_0)",
      ),
    );
    assert.ok(((audit[0]?.diff ?? []) as string[]).includes("+other.example.com:8443"));
  });
});
