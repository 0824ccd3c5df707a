/**
 * The isolation floor on an engine whose host we control (test/helpers/second-engine.ts):
 *
 * - No DNS path to the host. The engine's host resolver is a recording DNS server on loopback,
 *   as with systemd-resolved. Docker before 26.0.2 forwards names that containers on `--internal`
 *   networks ask for through the host's namespace then (CVE-2024-29018): a plain container shows
 *   the path is open on this engine (positive control), and from a bottle's agent, on gVisor and on
 *   runc, the recorder must see nothing while the bottle's own names still resolve.
 * - gVisor registered the way that fails every start is refused in one line, before anything of
 *   the bottle exists; registered as docker-up.sh does it, the agent runs on it and `status` says so.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { runCliAsync } from "../../helpers/run-cli.ts";
import {
  copyImages,
  type SecondEngine,
  secondEngineUnavailable,
  startSecondEngine,
} from "../../helpers/second-engine.ts";
import { manifest, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";

const docker = await connectDocker({ baseImage: true });
const unavailable = docker.skip || secondEngineUnavailable();
const RUNSC = "/usr/bin/runsc";
const PLAIN_GVISOR = { runtimes: { runsc: { path: RUNSC } } };
const GVISOR = {
  runtimes: {
    runsc: { path: RUNSC, runtimeArgs: ["--network=host", "--overlay2=none", "--file-access=shared"] },
  },
};
const IMAGES = [
  "claude-bottle/agent:latest",
  "claude-bottle/sidecar:latest",
  "claude-bottle/base:bookworm-node24",
];

/** Each way a program in the agent may resolve a name: libc, Node, and a raw query to Docker's resolver. */
function resolveEverywayScript(name: string): string {
  return [
    `(getent hosts ${name}-libc.example; echo getent=$?) &`,
    `node -e "require('dns').lookup('${name}-node.example', (e) => { console.log('lookup=' + (e ? e.code : 'ok')); })" &`,
    `node -e "const s=require('dgram').createSocket('udp4');const n='${name}-raw.example'.split('.');const q=Buffer.concat([Buffer.from([0x12,0x34,1,0,0,1,0,0,0,0,0,0]),...n.map(l=>Buffer.concat([Buffer.from([l.length]),Buffer.from(l)])),Buffer.from([0,0,1,0,1])]);s.on('message',(m)=>{console.log('raw=rcode'+(m[3]&15));s.close()});s.send(q,53,'127.0.0.11');setTimeout(()=>{console.log('raw=timeout');s.close()},4000).unref()" &`,
    "wait",
  ].join(" ");
}

describe("the isolation floor, on an engine whose host resolver records every name", {
  skip: unavailable,
  timeout: 900_000,
}, () => {
  let engine: SecondEngine;
  const env = () => ({ DOCKER_HOST: engine.host });

  before(async () => {
    engine = await startSecondEngine(PLAIN_GVISOR);
    copyImages(engine, IMAGES);
  });
  after(async () => {
    await engine?.[Symbol.asyncDispose]();
  });

  it("control: a plain container on an --internal network of this engine leaks a name to the host's resolver", async () => {
    const name = `control-${randomBytes(6).toString("hex")}`;
    engine.docker(["network", "create", "--internal", "cbtest-control"]);
    try {
      engine.docker([
        "run",
        "--rm",
        "--network",
        "cbtest-control",
        "--entrypoint",
        "sh",
        IMAGES[2]!,
        "-c",
        `timeout 3 getent hosts ${name}.example; true`,
      ]);
    } finally {
      engine.docker(["network", "rm", "cbtest-control"]);
    }
    const seen = await engine.queries();
    assert.ok(
      seen.some((query) => query.startsWith(name)),
      `the recorder saw ${JSON.stringify(seen)}: this engine has no such path, so the refusals below prove nothing`,
    );
  });

  it("gVisor registered without --network=host: start refuses in one line naming the fix, and leaves nothing", async () => {
    using fixture = tempHome();
    fixture.write("bottles/strict.md", manifest("isolation: auto\n"));
    fixture.write("agents/dev.md", manifest("bottle: strict"));
    const started = await runCliAsync(["start", "dev", "--yes", "--detach"], {
      env: { ...env(), CLAUDE_BOTTLE_HOME: fixture.home },
      cwd: fixture.project,
    });
    assert.equal(started.status, 1, started.stderr);
    assert.equal(started.stdout, "");
    const errors = started.stderr.split("\n").filter((line) => line.includes("cannot start a container"));
    assert.equal(errors.length, 1, started.stderr);
    assert.match(
      errors[0]!,
      /gVisor \(runtime runsc\) is registered but cannot start a container: cannot run with network enabled in root network namespace/,
    );
    assert.match(
      errors[0]!,
      /"runtimeArgs": \["--network=host", "--overlay2=none", "--file-access=shared"\]/,
    );
    assert.match(errors[0]!, /isolation: runc/);
    assert.doesNotMatch(started.stderr, /^\s+at /m);
    assert.equal(
      engine.docker(["ps", "--all", "--quiet"]).trim(),
      "",
      "a probe or bottle container was left",
    );
    assert.equal(
      engine.docker(["network", "ls", "--quiet", "--filter", "label=claude-bottle.instance"]).trim(),
      "",
    );
  });

  describe("with gVisor registered as docker-up.sh does it", () => {
    const bottles: TestBottle[] = [];
    before(async () => {
      await engine.reconfigure(GVISOR);
      for (const isolation of ["gvisor", "runc"]) {
        bottles.push(
          await launchBottle({
            bottle: `isolation: ${isolation}\negress:\n  allowlist: [example.com]\n`,
            env: env(),
          }),
        );
      }
    });
    after(async () => {
      for (const bottle of bottles) await bottle.stop();
    });

    it("the agent runs on gVisor (the kernel answering it is gVisor's) and start and status say so", async () => {
      const [gvisor, runc] = bottles;
      assert.match(gvisor!.startStderr, /isolation: gVisor \(runtime runsc\)/);
      assert.match((await gvisor!.exec("dmesg 2>/dev/null | head -1")).stdout, /Starting gVisor/);
      const status = await runCliAsync(["status", gvisor!.instance], {
        env: { ...env(), CLAUDE_BOTTLE_HOME: gvisor!.fixture.home },
      });
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /^agent\s+running.*isolation gvisor$/m);
      assert.match(status.stdout, /^egress-proxy\s+running.*isolation runc$/m);
      assert.match(runc!.startStderr, /isolation: runc \(the bottle sets `isolation: runc`\)/);
      assert.doesNotMatch((await runc!.exec("dmesg 2>&1 | head -1")).stdout, /gVisor/);
    });

    for (const [index, label] of [
      [0, "gVisor"],
      [1, "runc"],
    ] as const) {
      it(`from an agent on ${label}, no name reaches the host's resolver; the bottle's own names resolve`, async () => {
        const bottle = bottles[index]!;
        const own = await bottle.exec("getent hosts egress-proxy");
        assert.match(own.stdout, /^\d+\.\d+\.\d+\.\d+\s+egress-proxy/, own.stdout + own.stderr);
        const name = `leak-${randomBytes(6).toString("hex")}`;
        const tried = await bottle.exec(resolveEverywayScript(name));
        assert.match(tried.stdout, /getent=2/, tried.stdout);
        assert.match(tried.stdout, /lookup=(ENOTFOUND|EAI_AGAIN|ESERVFAIL)/, tried.stdout);
        assert.match(tried.stdout, /raw=(rcode2|rcode5|rcode3|timeout)/, tried.stdout);
        const leaked = (await engine.queries()).filter((query) => query.includes(name));
        assert.deepEqual(leaked, [], `the host's resolver was asked for ${leaked.join(", ")}`);
      });
    }
  });
});
