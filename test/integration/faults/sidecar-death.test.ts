/**
 * Fault: a sidecar dies (SIGKILL) while the agent runs. The agent loses exactly that path and
 * nothing takes its place (fail closed: no direct route appears when the egress proxy is gone),
 * the other paths keep working, and the CLI says what was lost: `status` and the watcher an
 * attached session runs (watch.ts), here both against the real engine.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AGENT_USER } from "../../../src/backend/docker/agent-env.ts";
import { watchInstance } from "../../../src/backend/docker/watch.ts";
import { bridgeGateway, launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import { type FakeUpstream, startFakeUpstream } from "../cred-proxy/fake-upstream.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** One probe per path out of the agent: prints `ok` when the path works. */
function probes(port: number): Record<string, string> {
  return {
    "egress-proxy": `curl -sS -m 10 https://upstream.test:${port}/via-egress | grep -q '"ok":true' && echo ok`,
    "cred-proxy": `curl -sS -m 10 http://cred-proxy:9099/api/via-cred | grep -q '"ok":true' && echo ok`,
    "git-gate": `node -e "require('net').connect(9418,'git-gate').on('connect',()=>{console.log('ok');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})"`,
    supervise: "curl -sS -m 5 http://supervise:9100/healthz | grep -q ok && echo ok",
  };
}

describe("a sidecar killed while the agent runs", { skip: docker.skip, timeout: 300_000 }, () => {
  let upstream: FakeUpstream;
  let bottle: TestBottle;
  let gateway = "";
  const reported: string[] = [];
  let watch: AsyncDisposable | undefined;
  let keyDir = "";

  before(async () => {
    upstream = await startFakeUpstream();
    gateway = await bridgeGateway(engine);
    const hostKey = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "der" });
    const sshHostKey = `ssh-ed25519 ${sshEd25519Blob(hostKey.subarray(-32))}`;
    const clientKey = generateKeyPairSync("ed25519")
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    keyDir = mkdtempSync(join(tmpdir(), "claude-bottle-fault-key-"));
    writeFileSync(join(keyDir, "gate"), clientKey, { mode: 0o600 });
    bottle = await launchBottle({
      env: { CB_FAULT_TOKEN: "cbfault_token_value_0123456789" },
      bottle: `
git:
  - Name: app
    Upstream: "ssh://git@gitssh.test:2222/repo.git"
    IdentityFile: ${join(keyDir, "gate")}
    KnownHostKey: "${sshHostKey}"
    ExtraHosts: {gitssh.test: 127.0.0.1}
cred_proxy:
  routes:
    - path: /api
      upstream: https://upstream.test:${upstream.port}
      auth_scheme: Bearer
      token_ref: CB_FAULT_TOKEN
egress:
  allowlist: ["upstream.test:${upstream.port}"]
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${gateway}/32"]
  upstream_ca: ["${upstream.caFile}"]
supervise: true
`,
    });
    watch = watchInstance(engine, bottle.instance, {
      report: (line) => reported.push(line),
      intervalMs: 500,
    });
  });

  after(async () => {
    await watch?.[Symbol.asyncDispose]();
    await bottle?.stop();
    upstream?.close();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  /** Runs every probe at once in the agent (as its user); the roles whose path works. */
  const working = async (): Promise<string[]> => {
    const script = Object.entries(probes(upstream.port))
      .map(([role, probe]) => `( r=$(${probe} 2>/dev/null); [ "$r" = ok ] && echo ${role} ) &`)
      .join("\n");
    const result = await engine.containerExec(bottle.container("agent"), ["sh", "-c", `${script}\nwait`], {
      user: AGENT_USER,
    });
    return result.stdout.trim().split("\n").filter(Boolean).sort();
  };

  it("has every path working before anything is killed", async () => {
    assert.deepEqual(await working(), ["cred-proxy", "egress-proxy", "git-gate", "supervise"]);
    assert.equal(
      upstream.seen.find((request) => request.url === "/via-cred")?.headers.authorization,
      "Bearer cbfault_token_value_0123456789",
    );
    const status = await runCliAsync(["status", bottle.instance], {
      env: { CLAUDE_BOTTLE_HOME: bottle.fixture.home },
    });
    assert.equal(status.status, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^agent\s+running/m);
    assert.match(status.stdout, /^egress-proxy\s+running/m);
  });

  // Killed in this order so each step can show the others still work: egress-proxy last, since
  // cred-proxy reaches its upstream through it.
  for (const [role, lost, stillWorking] of [
    [
      "supervise",
      /the agent cannot ask the operator for more access now/,
      ["egress-proxy", "cred-proxy", "git-gate"],
    ],
    ["git-gate", /git push and fetch through git-gate fail now/, ["egress-proxy", "cred-proxy"]],
    ["cred-proxy", /requests through cred-proxy fail now/, ["egress-proxy"]],
    ["egress-proxy", /the bottle has no egress now/, []],
  ] as const) {
    it(`${role}: the agent loses that path, the others stay, and status and the watcher say so`, async () => {
      await engine.containerKill(bottle.container(role), "KILL");
      assert.deepEqual(await working(), [...stillWorking].sort(), `after ${role} was killed`);

      const status = await runCliAsync(["status", bottle.instance], {
        env: { CLAUDE_BOTTLE_HOME: bottle.fixture.home },
      });
      assert.equal(status.status, 1, status.stdout + status.stderr);
      assert.match(status.stdout, new RegExp(`^${role}\\s+exited code 137`, "m"));
      assert.match(status.stdout, /^agent\s+running/m);
      assert.match(status.stderr, lost);
      assert.match(status.stderr, new RegExp(`claude-bottle stop ${bottle.instance}`));

      const deadline = Date.now() + 10_000;
      while (
        !reported.some((line) => line.startsWith(`${role} exited (code 137)`)) &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const line = reported.find((candidate) => candidate.startsWith(`${role} exited (code 137)`));
      assert.ok(line, `the watcher did not report ${role}: ${reported.join("\n")}`);
      assert.match(line, lost);
    });
  }

  it("with the egress proxy dead there is still no way out: no direct route, nothing reaches the upstream", async () => {
    const seen = upstream.seen.length;
    const direct = await bottle.exec(
      `curl -sS --noproxy '*' -k -m 5 https://${gateway}:${upstream.port}/direct; echo "rc=$?"`,
    );
    assert.match(direct.stdout, /rc=(7|28)\b/, direct.stdout + direct.stderr);
    const proxied = await bottle.exec(
      `curl -sS -m 5 https://upstream.test:${upstream.port}/proxied; echo "rc=$?"`,
    );
    assert.match(proxied.stdout, /rc=(5|6|7|28)\b/, proxied.stdout + proxied.stderr);
    assert.equal(upstream.seen.length, seen, "a request reached the upstream");
    assert.equal(reported.length, 4, reported.join("\n"));
  });
});

/** The base64 of an OpenSSH ed25519 public key blob: string "ssh-ed25519", string key. */
function sshEd25519Blob(raw: Buffer): string {
  const part = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  return Buffer.concat([part(Buffer.from("ssh-ed25519")), part(raw)]).toString("base64");
}
