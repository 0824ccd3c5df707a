/**
 * A bottle cannot exhaust the host (the bottle's `limits`, docs/resources.md): every container has
 * a CPU, memory and process limit; a push bigger than `limits.push` is refused while it arrives;
 * an audit flood stays within `limits.audit`, the dropped lines counted. Each with its control:
 * the allowed path still works.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker, testInstance } from "../docker/engine-available.ts";
import {
  bridgeGateway,
  buildUpstreamImage,
  type SshUpstream,
  startUpstream as startGitUpstream,
  UPSTREAM_IMAGE,
  UPSTREAM_REPO,
} from "../git-gate/upstream.ts";
import { supervisedBottle } from "../supervise/mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

const AUDIT_CAP = 256 * 1024;

describe("a bottle's resource limits, attacked from inside", { skip: docker.skip, timeout: 900_000 }, () => {
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let web: Server;
  let git: SshUpstream;
  const test = testInstance();
  const { cli, sh } = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const webPort = () => (web.address() as AddressInfo).port;

  before(async () => {
    await buildUpstreamImage(engine);
    git = await startGitUpstream(engine, test.labels);
    web = createServer((_request, response) => response.end("hello\n"));
    await new Promise<void>((resolve) => web.listen(0, "0.0.0.0", resolve));
    fixture = tempHome();
    const key = fixture.write("keys/app_deploy", git.clientKey);
    fixture.write(
      "bottles/tight.md",
      manifest(`
egress:
  allowlist: ["web.test:${webPort()}"]
  hosts: {web.test: host-gateway}
  ip_allowlist: ["${await bridgeGateway(engine)}/32"]
git:
  - Name: app
    Upstream: "ssh://git@upstream.test:${git.port}${UPSTREAM_REPO}"
    IdentityFile: ${key}
    KnownHostKey: "${git.hostKey}"
    ExtraHosts: {upstream.test: ${git.address}}
limits:
  cpus: 1
  memory: 1g
  processes: 256
  push: 1m
  audit: 256k
`),
    );
    fixture.write("agents/greedy.md", manifest("bottle: tight", "Take everything."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await cli(["start", "greedy", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
  });

  after(async () => {
    if (instance) await cli(["stop", instance]);
    web?.close();
    await git?.[Symbol.asyncDispose]();
    if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1")
      await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
    fixture?.[Symbol.dispose]();
  });

  it("shows the limits in the preflight", async () => {
    const planned = await cli(["start", "greedy", "--dry-run"]);
    assert.match(planned.stdout, /agent: 1 CPU, 1 GiB memory, 256 processes; each sidecar: 1 CPU/);
    assert.match(planned.stdout, /pushes up to 1 MiB; audit logs up to 256 KiB per sidecar/);
  });

  it("gives every container a CPU, memory and process limit: the agent the bottle's, each sidecar 1 CPU", async () => {
    const containers = await engine.containerList({ "claude-bottle.instance": instance });
    assert.ok(containers.length >= 3, containers.map((container) => container.name).join(", "));
    for (const container of containers) {
      const [cpus, memory, pids] = execFileSync(
        "docker",
        [
          "inspect",
          "--format",
          "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
          container.id,
        ],
        { encoding: "utf8" },
      )
        .trim()
        .split(" ")
        .map(Number);
      assert.equal(cpus, 1e9, `${container.name}: CPUs`);
      assert.ok((memory ?? 0) > 0 && (pids ?? 0) > 0, `${container.name}: memory ${memory}, pids ${pids}`);
      if (container.labels["claude-bottle.role"] === "agent") assert.equal(memory, 1024 ** 3);
    }
  });

  it("a CPU burner in the agent leaves its sidecars serving (each has its own CPU)", async () => {
    const burn = sh(
      "for i in 1 2 3 4 5 6 7 8; do (timeout 15 sh -c 'while :; do :; done' &) ; done; sleep 2",
    );
    assert.equal((await burn).status, 0);
    try {
      // While eight loops compete for the agent's one CPU, the proxy answers and so does upstream.
      assert.equal((await sh(`curl -sS -m 20 http://web.test:${webPort()}/`)).stdout, "hello\n");
      assert.equal(
        (await sh("curl -sS -m 20 -o /dev/null -w '%{http_code}' http://refused.test/")).stdout,
        "403",
      );
    } finally {
      await sh("pkill -f 'while :; do :; done' || true");
    }
  });

  it("refuses a push bigger than limits.push while it arrives; a small one lands", async () => {
    const setup = await sh(
      "git config --global user.email a@test && git config --global user.name a && cd ~/workspace && git clone -q git://git-gate/app.git app",
    );
    assert.equal(setup.status, 0, setup.stderr);
    const small = await sh(
      "cd ~/workspace/app && echo small > small.txt && git add . && git commit -qm small && git push -q origin HEAD:refs/heads/small 2>&1",
    );
    assert.equal(small.status, 0, small.stdout + small.stderr);
    const big = await sh(
      "cd ~/workspace/app && head -c 3000000 /dev/urandom > big.bin && git add . && git commit -qm big && git push origin HEAD:refs/heads/big 2>&1",
    );
    assert.notEqual(big.status, 0, big.stdout);
    assert.match(big.stdout, /pack exceeds maximum allowed size/);
    assert.match(await git.ref("refs/heads/small"), /^[0-9a-f]{40}$/);
    assert.equal(await git.ref("refs/heads/big"), "", "nothing of the big push reached upstream");
  });

  it("keeps an audit flood within limits.audit, counting what it drops; paths are cut; requests still pass", async () => {
    // 4000 refused requests with 4 KB paths: about 20 MB of audit lines without the cap.
    const flood = await sh(
      `node -e 'const http=require("http");const agent=new http.Agent({keepAlive:true,maxSockets:8});let left=4000,done=0;const one=()=>{if(left--<=0)return;http.get({host:"egress-proxy",port:8888,path:"http://flood.test/"+"a".repeat(4000),headers:{host:"flood.test"},agent},r=>{r.resume();r.on("end",()=>{done++;one()})}).on("error",()=>{done++;one()})};for(let i=0;i<8;i++)one();const t=setInterval(()=>{if(done>=4000){clearInterval(t);console.log(done);process.exit(0)}},100)'`,
    );
    assert.equal(flood.status, 0, flood.stderr);
    const dir = join(fixture.home, "logs", instance, "egress");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const total = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    assert.ok(total <= AUDIT_CAP + 8 * 1024, `the egress audit holds ${total} bytes`);
    const listed = await cli(["logs", instance, "--source", "egress"]);
    assert.match(
      listed.stdout,
      /\d+ older audit lines \(\d+ bytes\) dropped: the log reached the bottle's limits\.audit/,
    );
    assert.match(listed.stdout, /GET http:\/\/flood\.test:80\/a+… {2}— not-allowlisted/);
    const line = readFileSync(join(dir, "egress-audit.jsonl"), "utf8")
      .split("\n")
      .find((text) => text.includes("flood.test"));
    const path = (JSON.parse(line ?? "{}") as { path?: string }).path ?? "";
    assert.equal(
      path,
      `/${"a".repeat(1023)}…[+2977 chars]`,
      "the path is cut at 1024 characters, saying by how much",
    );
    assert.equal((await sh(`curl -sS -m 20 http://web.test:${webPort()}/`)).stdout, "hello\n");
    assert.match(
      (await cli(["logs", instance, "--source", "egress", "--since", "1m"])).stdout,
      /GET http:\/\/web\.test/,
    );
  });
});
