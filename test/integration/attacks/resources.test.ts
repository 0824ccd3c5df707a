/**
 * A bottle cannot exhaust the host (the bottle's `limits`, docs/resources.md): every container has
 * a CPU, memory and process limit; a fork bomb meets the process limit; a push bigger than
 * `limits.push` (2 GiB of it) is refused while it arrives; an audit flood stays within
 * `limits.audit`, the dropped lines counted; `limits.disk` is enforced or refused up front. Each
 * with its controls: the allowed path still works, and a second bottle beside it keeps serving.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskLimitRefusal } from "../../../src/backend/docker/disk-limit.ts";
import { GIT_GATE } from "../../../src/contracts/git-gate.ts";
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
/**
 * How the pushing client learns of the cut-off: git's message, unless the gate's close reaches it
 * while it is still sending (then only the reset), as git daemon does for any oversized pack.
 */
const PUSH_CUT_OFF = /pack exceeds maximum allowed size|Connection reset by peer|remote end hung up/;

describe("a bottle's resource limits, attacked from inside", { skip: docker.skip, timeout: 900_000 }, () => {
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let neighbour = "";
  let web: Server;
  let git: SshUpstream;
  const test = testInstance();
  const { cli, sh } = supervisedBottle(() => ({ instance, env, cwd: fixture.project }));
  const beside = supervisedBottle(() => ({ instance: neighbour, env, cwd: fixture.project }));
  const webPort = () => (web.address() as AddressInfo).port;
  /** The positive control: the second bottle reaches its allowlisted host through its own proxy. */
  const neighbourServes = async () => {
    const fetched = await beside.sh(`curl -sS -m 30 http://web.test:${webPort()}/`);
    assert.equal(fetched.stdout, "hello\n", `the neighbour bottle: ${fetched.stderr}`);
  };

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
    fixture.write("agents/calm.md", manifest("bottle: tight", "Stay calm."));
    const second = await cli(["start", "calm", "--yes", "--detach"]);
    assert.equal(second.status, 0, second.stderr);
    neighbour = second.stdout.trim();
  });

  after(async () => {
    if (instance) await cli(["stop", instance]);
    if (neighbour) await cli(["stop", neighbour]);
    web?.close();
    await git?.[Symbol.asyncDispose]();
    if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1")
      await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
    fixture?.[Symbol.dispose]();
  });

  it("shows the limits in the preflight", async () => {
    const planned = await cli(["start", "greedy", "--dry-run"]);
    assert.match(planned.stdout, /agent: 1 CPU, 1 GiB memory, 256 processes; each sidecar: 1 CPU/);
    assert.match(
      planned.stdout,
      /pushes up to 1 MiB, git-gate's copy of a repository up to 8 GiB; audit logs up to 256 KiB per sidecar/,
    );
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
      await neighbourServes();
    } finally {
      await sh("pkill -f 'while :; do :; done' || true");
    }
  });

  it("a fork bomb meets limits.processes; the bottle's sidecars and a second bottle keep serving", async () => {
    // Every shell forks two more, then sleeps and ends; at the limit forks fail. After 10 s no
    // shell forks again, so the bomb burns out by itself (nothing could exec in to kill it
    // while it holds every slot). Subshells inherit SECONDS.
    const lit = await sh(
      "(bash -c 'f(){ if [ $SECONDS -lt 10 ]; then f | f & fi; sleep 5; }; f' >/dev/null 2>/tmp/bomb.err &)",
    );
    assert.equal(lit.status, 0, lit.stderr);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await neighbourServes();
    // It burns out (its last forks retry for up to ~30 s); then the agent works again.
    const deadline = Date.now() + 120_000;
    for (;;) {
      // No ps in the agent image: the processes are /proc's numeric entries.
      const left = await sh("ls /proc | grep -c '^[0-9]'");
      if (left.status === 0 && Number(left.stdout.trim()) < 10) break;
      assert.ok(Date.now() < deadline, `the bomb never burnt out: ${left.stdout}${left.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    assert.equal((await sh(`curl -sS -m 20 http://web.test:${webPort()}/`)).stdout, "hello\n");
    assert.match((await sh("cat /tmp/bomb.err")).stdout, /fork: .*Resource temporarily unavailable/);
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
    assert.match(big.stdout, PUSH_CUT_OFF);
    assert.match(await git.ref("refs/heads/small"), /^[0-9a-f]{40}$/);
    assert.equal(await git.ref("refs/heads/big"), "", "nothing of the big push reached upstream");
  });

  it("cuts a 2 GiB push off at limits.push: the gate keeps none of it, upstream sees nothing, the neighbour serves", async () => {
    const mirrorBytes = async () => {
      const du = await engine.containerExec(`cb-${instance}-git-gate`, ["du", "-sb", GIT_GATE.stateDir]);
      return Number(du.stdout.split("\t")[0]);
    };
    const before = await mirrorBytes();
    // A sparse 2 GiB file costs the agent nothing to make; stored uncompressed, its pack is 2 GiB.
    const made = await sh(
      "git config --global user.email a@test && git config --global user.name a && cd ~/workspace && git clone -q git://git-gate/app.git huge && cd huge && truncate -s 2G huge.bin && git -c core.bigFileThreshold=1m -c core.compression=0 -c pack.compression=0 add huge.bin && git commit -qm huge && ls -l .git/objects/pack/*.pack | awk '{s+=$5} END {print s}'",
    );
    assert.equal(made.status, 0, made.stderr);
    assert.ok(Number(made.stdout.trim()) > 2 * 1024 ** 3, `the packs hold ${made.stdout.trim()} bytes`);
    const pushed = sh(
      "cd ~/workspace/huge && git -c pack.compression=0 -c core.bigFileThreshold=1m push origin HEAD:refs/heads/huge 2>&1",
    );
    await neighbourServes();
    const big = await pushed;
    assert.notEqual(big.status, 0, big.stdout);
    assert.match(big.stdout, PUSH_CUT_OFF);
    assert.equal(await git.ref("refs/heads/huge"), "", "nothing of it reached upstream");
    const grown = (await mirrorBytes()) - before;
    assert.ok(grown < 4 * 1024 ** 2, `the gate's state grew by ${grown} bytes`);
    await sh("rm -rf ~/workspace/huge");
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
    await neighbourServes();
    assert.match(
      (await cli(["logs", instance, "--source", "egress", "--since", "1m"])).stdout,
      /GET http:\/\/web\.test/,
    );
  });

  it("enforces limits.disk where the engine can cap a container's disk, and refuses it up front where it cannot", async () => {
    fixture.write("bottles/disky.md", manifest("limits:\n  disk: 2g\n"));
    fixture.write("agents/filler.md", manifest("bottle: disky", "Fill the disk."));
    const planned = await cli(["start", "filler", "--dry-run"]);
    assert.match(planned.stdout, /agent disk: 2 GiB/);
    assert.match(
      (await cli(["start", "greedy", "--dry-run"])).stdout,
      /disk: not limited \(limits\.disk caps it/,
    );
    const { storage } = await engine.info();
    const started = await cli(["start", "filler", "--yes", "--detach"]);
    if (diskLimitRefusal(storage) !== undefined) {
      // This engine (overlay2 on ext4 here) cannot: the start says so before anything exists.
      assert.equal(started.status, 1, started.stdout);
      assert.match(
        started.stderr,
        /sets limits\.disk, but this Docker engine stores containers with .* which cannot cap/,
      );
      assert.deepEqual(
        (await engine.containerList({ "claude-bottle.role": "agent" })).filter((c) =>
          c.name.includes("filler"),
        ),
        [],
      );
      return;
    }
    assert.equal(started.status, 0, started.stderr);
    const filler = started.stdout.trim();
    try {
      const fill = await cli([
        "exec",
        filler,
        "--",
        "sh",
        "-c",
        "head -c 3G /dev/zero > ~/fill.bin; echo $?",
      ]);
      assert.match(fill.stderr + fill.stdout, /No space left on device/);
      await neighbourServes();
    } finally {
      await cli(["stop", filler]);
    }
  });
});
