import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LABEL_INSTANCE } from "../../../src/backend/docker/engine/engine.ts";
import { bridgeGateway } from "../../../src/cli/demo/git-upstream.ts";
import { BIN, runCli, runCliAsync } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** A host service the bottle may reach as upstream.test, through `egress.hosts: host-gateway`. */
async function startUpstream(): Promise<{ server: Server; port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    response.end("hello from upstream\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

async function labelled(instance: string): Promise<{ containers: number; networks: number }> {
  const filter = { [LABEL_INSTANCE]: instance };
  const [containers, networks] = await Promise.all([
    engine.containerList(filter),
    engine.networkList(filter),
  ]);
  return { containers: containers.length, networks: networks.length };
}

describe("a launched bottle", { skip: docker.skip, timeout: 600_000 }, () => {
  let fixture: TempHome;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let startStderr = "";
  const exec = (command: string) =>
    runCliAsync(["exec", instance, "--", "sh", "-c", command], { env, cwd: fixture.project });

  before(async () => {
    fixture = tempHome();
    upstream = await startUpstream();
    const gateway = await bridgeGateway(engine);
    fixture.write(
      "bottles/web.md",
      manifest(`
egress:
  allowlist: ["upstream.test:${upstream.port}"]
  hosts: {upstream.test: host-gateway}
  ip_allowlist: ["${gateway}/32"]
`),
    );
    fixture.write("skills/net-probe/SKILL.md", "---\nname: net-probe\ndescription: probes\n---\nUse curl.\n");
    fixture.write("agents/probe.md", manifest("bottle: web\nskills: [net-probe]", "Probe the network."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await runCliAsync(["start", "probe", "--yes", "--detach"], { env, cwd: fixture.project });
    startStderr = started.stderr;
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
    assert.match(instance, /^probe-[0-9a-f]{8}$/);
  });

  after(async () => {
    if (instance) await runCliAsync(["stop", instance], { env, cwd: fixture.project });
    upstream?.server.close();
    fixture?.[Symbol.dispose]();
  });

  it("reaches an allowlisted upstream through the egress proxy", async () => {
    const result = await exec(`curl -sS -m 20 http://upstream.test:${upstream.port}/allowed`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "hello from upstream\n");
    assert.ok(upstream.requests.includes("GET /allowed"));
  });

  it("gets 403 with X-Bottle-Block for a host that is not allowlisted, saying how to ask", async () => {
    const result = await exec("curl -sS -m 20 -i http://not-allowed.example/");
    assert.match(result.stdout, /^HTTP\/1\.1 403/);
    assert.match(result.stdout, /X-Bottle-Block: not-allowlisted/i);
    assert.match(result.stdout, /egress\.allowlist/);
  });

  it("has no route out when the proxy is bypassed, not even to the host", async () => {
    const internal = (await engine.networkInspect(`cb-${instance}-internal-network`))?.subnets[0] ?? "";
    const ownGateway = internal.replace(/\.0\/\d+$/, ".1");
    for (const address of [await bridgeGateway(engine), ownGateway]) {
      const result = await exec(
        `curl -sS --noproxy '*' -m 5 http://${address}:${upstream.port}/bypass; echo "rc=$?"`,
      );
      assert.match(result.stdout, /rc=(7|28)\b/, `${address}: ${result.stdout}${result.stderr}`);
    }
    assert.ok(!upstream.requests.includes("GET /bypass"));
  });

  it("does not resolve external names", async () => {
    const result = await exec("getent hosts example.com; echo rc=$?");
    assert.match(result.stdout, /rc=2\b/);
  });

  it("refuses a secret POSTed over intercepted HTTPS", async () => {
    const secret = "AKIA" + "Z7QF4LHXW2KD5N3P";
    const result = await exec(
      `curl -sS -m 20 -i -X POST --data 'aws_access_key_id=${secret}' https://upstream.test:${upstream.port}/upload`,
    );
    assert.match(
      result.stdout,
      /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 403/,
      result.stdout + result.stderr,
    );
    assert.match(result.stdout, /X-Bottle-Block: dlp-secret/i);
    assert.match(result.stdout, /rule: aws-access-key-id in body/);
    assert.ok(!upstream.requests.some((request) => request.includes("/upload")));
  });

  it("trusts the CA whose fingerprint start printed", async () => {
    const printed = /SHA-256 fingerprint ([0-9A-F:]{95})/.exec(startStderr)?.[1];
    assert.ok(printed, startStderr);
    const result = await exec(
      "openssl x509 -noout -fingerprint -sha256 -in /usr/local/share/ca-certificates/claude-bottle-ca.crt",
    );
    assert.equal(result.stdout.trim().split("=")[1], printed);
  });

  it("runs the agent unprivileged: uid 1000, no capabilities, no Docker socket", async () => {
    const result = await exec(
      "id -u; grep CapEff /proc/self/status; test -e /var/run/docker.sock && echo socket || echo no-socket",
    );
    assert.match(result.stdout, /^1000\n/);
    assert.match(result.stdout, /CapEff:\s+0000000000000000/);
    assert.match(result.stdout, /no-socket/);
  });

  it("writes an audit line per request on the host, without secrets", async () => {
    const audit = readFileSync(join(fixture.home, "logs", instance, "egress", "egress-audit.jsonl"), "utf8");
    const lines = audit
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { host: string; decision: string });
    assert.ok(lines.some((line) => line.host === "upstream.test" && line.decision === "allow"));
    assert.ok(lines.some((line) => line.host === "not-allowed.example" && line.decision === "block"));
    assert.ok(!audit.includes("Z7QF4LHXW2KD5N3P"));
  });

  it("cannot reach the sidecars of another bottle", async () => {
    const other = await runCliAsync(["start", "probe", "--yes", "--detach"], { env, cwd: fixture.project });
    assert.equal(other.status, 0, other.stderr);
    const otherInstance = other.stdout.trim();
    try {
      const proxy = await engine.containerInspect(`cb-${otherInstance}-egress-proxy`);
      const addresses = Object.values(proxy?.networks ?? {})
        .map((network) => network.ipAddress)
        .filter(Boolean);
      assert.ok(addresses.length >= 1);
      for (const address of addresses) {
        const result = await exec(`curl -sS --noproxy '*' -m 5 http://${address}:8889/healthz; echo "rc=$?"`);
        assert.match(result.stdout, /rc=(7|28)\b/, `reached ${address}: ${result.stdout}`);
      }
    } finally {
      await runCliAsync(["stop", otherInstance], { env, cwd: fixture.project });
    }
    assert.deepEqual(await labelled(otherInstance), { containers: 0, networks: 0 });
  });

  it("provisions the agent's prompt and skills, readable by the agent", async () => {
    const result = await exec("cat ~/.claude-bottle/prompt.md ~/.claude/skills/net-probe/SKILL.md");
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Probe the network\.\n/);
    assert.match(result.stdout, /name: net-probe[\s\S]*Use curl\./);
  });

  it("exec passes the command's exit code through", async () => {
    assert.equal((await exec("exit 7")).status, 7);
  });

  it("stop leaves no labelled container or network", async () => {
    const stopped = await runCliAsync(["stop", instance], { env, cwd: fixture.project });
    assert.equal(stopped.status, 0, stopped.stderr);
    assert.deepEqual(await labelled(instance), { containers: 0, networks: 0 });
    const resumed = await runCliAsync(["resume", instance], { env, cwd: fixture.project });
    assert.equal(resumed.status, 2);
    assert.match(resumed.stderr, /is not running, so there is nothing to resume/);
    instance = "";
  });
});

describe("launch without leftovers", { skip: docker.skip, timeout: 300_000 }, () => {
  it("--dry-run makes no engine call at all", () => {
    using fixture = tempHome();
    const marker = join(fixture.home, "docker-was-called");
    const fakeDocker = fixture.write("fakebin/docker", `#!/bin/sh\ntouch ${marker}\nexit 1\n`);
    chmodSync(fakeDocker, 0o755);
    const result = runCli(["start", "--dry-run"], {
      env: {
        CLAUDE_BOTTLE_HOME: fixture.home,
        ANTHROPIC_API_KEY: "k",
        PATH: `${join(fixture.home, "fakebin")}:${process.env.PATH}`,
      },
      cwd: fixture.project,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(marker), false);
  });

  it("after the CLI is killed with SIGKILL mid-launch, cleanup removes everything", async () => {
    using fixture = tempHome();
    fixture.write("bottles/b.md", manifest("egress:\n  allowlist: []"));
    fixture.write("agents/crash.md", manifest("bottle: b"));
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CLAUDE_BOTTLE_HOME: fixture.home,
      NO_COLOR: "1",
    };
    const child = spawn(process.execPath, [BIN, "start", "crash", "--yes", "--detach"], {
      env,
      cwd: fixture.project,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    const instance = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
        const id = /launching bottle (\S+)/.exec(stderr)?.[1];
        if (id && stderr.includes("starting egress-proxy")) {
          child.kill("SIGKILL");
          resolve(id);
        }
      });
      child.on("close", () => reject(new Error(`start ended before the kill point: ${stderr}`)));
    });
    await new Promise((resolve) => child.once("close", resolve));
    const leftovers = await labelled(instance);
    assert.ok(
      leftovers.networks > 0,
      "the kill came too late to leave anything behind; the test proves nothing",
    );
    const cleanup = await runCliAsync(["cleanup"], { env, cwd: fixture.project });
    assert.equal(cleanup.status, 0, cleanup.stderr);
    assert.match(cleanup.stdout, new RegExp(`removed ${instance}`));
    assert.deepEqual(await labelled(instance), { containers: 0, networks: 0 });
    const again = await runCliAsync(["cleanup"], { env, cwd: fixture.project });
    assert.equal(again.status, 0);
    writeFileSync(join(fixture.home, "ok"), "");
  });
});
