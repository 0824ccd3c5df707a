import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { makePki, type Pki, plainRequest, startTestProxy, startUpstream, type Upstream } from "./helpers.ts";

const CLI = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));

describe("egress-proxy reload", () => {
  let pki: Pki;
  let upstream: Upstream;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
  });
  after(async () => {
    await upstream.close();
  });

  it("applies a good config on reload and keeps the old policy when the new one is invalid", async () => {
    const proxy = await startTestProxy(pki, { allowlist: ["upstream.test"] });
    const url = (host: string) => `http://${host}:${upstream.http.port}/`;
    try {
      assert.equal((await plainRequest(proxy.port, url("other.test"))).status, 403);
      await proxy.rewrite({ allowlist: ["other.test"] });
      const good = await proxy.running.reload();
      assert.deepEqual(good, { ok: true });
      assert.equal((await plainRequest(proxy.port, url("other.test"))).status, 200);
      assert.equal((await plainRequest(proxy.port, url("upstream.test"))).status, 403);

      await proxy.rewrite({
        allowlist: ["*.com"],
        dlp: { known_tokens: [{ name: "T", sha256: "SECRET-VALUE", length: 3, host: "x.test" }] },
      });
      const bad = await proxy.running.reload();
      assert.equal(bad.ok, false);
      if (!bad.ok) {
        assert.match(bad.reason, /allowlist\.0: a wildcard must cover a registrable domain/);
        assert.match(bad.reason, /dlp\.known_tokens\.0\.sha256/);
        assert.doesNotMatch(bad.reason, /SECRET-VALUE/);
      }
      assert.equal(
        (await plainRequest(proxy.port, url("other.test"))).status,
        200,
        "old policy still in force",
      );

      await writeFile(proxy.configPath, "allowlist: [unclosed\n");
      assert.equal((await proxy.running.reload()).ok, false);
      assert.equal((await plainRequest(proxy.port, url("other.test"))).status, 200);
    } finally {
      await proxy.close();
    }
  });

  describe("the CLI (claude-bottle sidecar egress-proxy)", () => {
    let dir: string;
    let child: ChildProcess;
    let stderr = "";
    const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
      for (;;) {
        const match = stderr.match(pattern);
        if (match) return match;
        await once(child.stderr ?? child, "data");
      }
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "egress-cli-"));
    });
    after(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    });

    const config = (allowlist: string[]) =>
      stringify({
        listen: "127.0.0.1:0",
        health: "127.0.0.1:0",
        allowlist,
        hosts: { "upstream.test": "127.0.0.1", "other.test": "127.0.0.1" },
        ssrf: { ip_allowlist: ["127.0.0.1/32"] },
        audit: { path: "audit.jsonl" },
        default_ports: "any",
      });

    it("runs in the foreground, serves /healthz, reloads on SIGHUP and keeps the policy on a bad one", async () => {
      const file = join(dir, "config.yaml");
      await writeFile(file, config(["upstream.test"]));
      child = spawn(process.execPath, [CLI, "sidecar", "egress-proxy", "--config", file], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const [, port, healthPort] = await waitFor(/listening on [^:]+:(\d+), health on [^:]+:(\d+)/);
      const health = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        get(`http://127.0.0.1:${healthPort}/healthz`, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString("utf8");
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        }).on("error", reject);
      });
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).status, "ok");

      const proxyPort = Number(port);
      const other = `http://other.test:${upstream.http.port}/`;
      assert.equal((await plainRequest(proxyPort, other)).status, 403);

      await writeFile(file, config(["upstream.test", "other.test"]));
      child.kill("SIGHUP");
      await waitFor(/reloaded policy \(generation 2\)/);
      assert.equal((await plainRequest(proxyPort, other)).status, 200);

      await writeFile(file, "listen: [not, valid\n");
      child.kill("SIGHUP");
      await waitFor(/reload refused, keeping the running policy/);
      assert.equal((await plainRequest(proxyPort, other)).status, 200);

      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 0);
    });

    it("exits 2 with the key path when the named config is invalid", async () => {
      const file = join(dir, "bad.yaml");
      await writeFile(file, stringify({ allowlist: ["*"], ssrf: { ip_allowlist: ["not-a-cidr"] } }));
      child = spawn(process.execPath, [CLI, "sidecar", "egress-proxy", "--config", file], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 2);
      assert.match(stderr, /allowlist\.0/);
      assert.match(stderr, /ssrf\.ip_allowlist\.0: expected a CIDR/);
      assert.doesNotMatch(stderr, /internal error/);
    });

    it("exits 2 when the named config does not exist", async () => {
      child = spawn(
        process.execPath,
        [CLI, "sidecar", "egress-proxy", "--config", join(dir, "missing.yaml")],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 2);
      assert.match(stderr, /egress config not found/);
    });
  });
});
