/**
 * Attacks on isolation (G7: from the host, from other bottles, from privilege), from inside a real
 * bottle while a second bottle runs beside it.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { bridgeGateway, launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { TCP_PROBE } from "./probes.ts";
import { parseCurl } from "./upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;
const NO_ROUTE = ["EHOSTUNREACH", "ENETUNREACH", "timeout"];

/** Spawns `sleep` until the kernel refuses, then kills them all: {spawned, error}. */
const SPAWN_UNBOUNDED = `
const { spawn } = require("node:child_process");
const children = [];
let error;
while (error === undefined && children.length < 5000) {
  const child = spawn("sleep", ["120"], { stdio: "ignore" });
  child.on("error", () => {});
  if (child.pid === undefined) {
    error = "no pid";
    child.once("error", (e) => { error = e.code; });
    break;
  }
  children.push(child);
}
setTimeout(() => {
  for (const child of children) child.kill("SIGKILL");
  console.log(JSON.stringify({ spawned: children.length, error }));
  setTimeout(() => process.exit(0), 500);
}, 50);
`;

/** Allocates and touches 256 MiB at a time until killed, printing the total so far. */
const FILL_MEMORY = `
const held = [];
for (let i = 1; i <= 64; i++) {
  held.push(Buffer.allocUnsafe(256 * 1024 * 1024).fill(i));
  console.log(i * 256);
}
console.log("never killed");
`;

describe("attacks on isolation, from inside a bottle", { skip: docker.skip, timeout: 600_000 }, () => {
  let bottle: TestBottle;
  let other: TestBottle;
  let gateway = "";

  before(async () => {
    gateway = await bridgeGateway(engine);
    [bottle, other] = await Promise.all([
      launchBottle({ bottle: "egress:\n  allowlist: []" }),
      launchBottle({ bottle: "egress:\n  allowlist: []" }),
    ]);
  });

  after(async () => {
    await Promise.all([bottle?.stop(), other?.stop()]);
  });

  const tcp = async (host: string, port: number) => {
    const result = await bottle.execArgv(["node", "-e", TCP_PROBE, host, String(port), "4000"]);
    return (JSON.parse(result.stdout) as { result: string }).result;
  };

  it("G7: every container runs with all capabilities dropped, no-new-privileges, limits, no Docker socket, no host network", async () => {
    for (const role of ["agent", "egress-proxy"]) {
      const [inspected] = JSON.parse(
        execFileSync("docker", ["inspect", bottle.container(role)], { encoding: "utf8" }),
      ) as {
        HostConfig: {
          CapDrop: string[] | null;
          CapAdd: string[] | null;
          SecurityOpt: string[] | null;
          Privileged: boolean;
          NetworkMode: string;
          PidMode: string;
          PidsLimit: number;
          Memory: number;
          Binds: string[] | null;
        };
        Mounts: { Source: string }[];
      }[];
      const host = inspected?.HostConfig;
      assert.ok(host, role);
      assert.deepEqual(host.CapDrop, ["ALL"], role);
      assert.equal(host.CapAdd, null, role);
      assert.ok(host.SecurityOpt?.includes("no-new-privileges"), role);
      assert.equal(host.Privileged, false, role);
      assert.ok(!["host", ""].includes(host.NetworkMode), role);
      assert.notEqual(host.PidMode, "host", role);
      assert.ok(host.PidsLimit > 0 && host.Memory > 0, role);
      assert.ok(!inspected?.Mounts.some((mount) => mount.Source.includes("docker.sock")), role);
    }
  });

  it("G7: privilege escalation is refused (NoNewPrivs 1, capabilities all zero, setuid binaries do not elevate, su/sudo fail, /etc not writable)", async () => {
    const status = await bottle.exec(
      "id -u; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status",
    );
    assert.equal(
      status.stdout,
      "1000\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n",
    );
    // Each setuid binary present runs as the agent: `id`-like proof through su's own refusal.
    const setuid = await bottle.exec("find / -xdev -perm -4000 -type f 2>/dev/null | sort");
    const binaries = setuid.stdout.trim().split("\n").filter(Boolean);
    const su = await bottle.exec("su -c 'id -u' root </dev/null 2>&1; echo rc=$?");
    assert.match(su.stdout, /rc=1\b/, su.stdout);
    assert.match(
      su.stdout,
      /Authentication failure|must be run from a terminal|Permission denied/,
      su.stdout,
    );
    assert.doesNotMatch(su.stdout, /^0$/m);
    const sudo = await bottle.exec("sudo -n id -u 2>&1; echo rc=$?");
    assert.match(sudo.stdout, /sudo: not found\nrc=127|rc=1\b/, sudo.stdout);
    assert.doesNotMatch(sudo.stdout, /^0$/m);
    if (binaries.some((binary) => binary.endsWith("/mount"))) {
      const mount = await bottle.exec("mount -t tmpfs none /mnt 2>&1; echo rc=$?");
      assert.match(mount.stdout, /must be superuser|only root|permission denied/i, mount.stdout);
    }
    const etc = await bottle.exec(
      "touch /etc/probe 2>&1; echo rc=$?; sh -c 'echo x >> /etc/passwd' 2>&1; echo rc=$?; ls /etc/probe 2>&1",
    );
    assert.match(etc.stdout, /touch: cannot touch '\/etc\/probe': Permission denied\nrc=1\n/);
    assert.match(etc.stdout, /cannot create \/etc\/passwd: Permission denied\nrc=2\n/);
    assert.match(etc.stdout, /No such file or directory/);
  });

  it("G7: the host's bridge gateway and the Docker socket are out of reach (no socket; no route; 403 through the proxy)", async () => {
    const sockets = await bottle.exec(
      "ls /var/run/docker.sock /run/docker.sock 2>&1; find / -xdev -type s 2>/dev/null | grep -c docker; echo DOCKER_HOST=$DOCKER_HOST",
    );
    assert.match(sockets.stdout, /'\/var\/run\/docker\.sock': No such file or directory/);
    assert.match(sockets.stdout, /'\/run\/docker\.sock': No such file or directory/);
    assert.match(sockets.stdout, /^0\nDOCKER_HOST=$/m);
    const ports = await Promise.all([2375, 2376].map((port) => tcp(gateway, port)));
    for (const port of ports) assert.ok(NO_ROUTE.includes(port), port);
    const viaProxy = parseCurl(
      (await bottle.exec(`curl -sS -i -m 15 http://${gateway}:2375/version`)).stdout,
    );
    assert.equal(viaProxy.status, 403, JSON.stringify(viaProxy));
    assert.equal(viaProxy.block, "not-allowlisted");
    assert.ok(
      viaProxy.body.includes(`rule: ${gateway}:2375 matches no egress.allowlist entry`),
      viaProxy.body,
    );
  });

  it("G7: another bottle's sidecars are out of reach (no route directly; 403 through the proxy)", async () => {
    // Positive control: this bottle's own proxy answers on its health port.
    const own = await bottle.exec("curl -sS -m 10 --noproxy '*' http://egress-proxy:8889/healthz");
    assert.match(own.stdout, /"status":"ok"/);
    const addresses: string[] = [];
    for (const role of ["egress-proxy", "agent"]) {
      const inspected = await engine.containerInspect(other.container(role));
      for (const network of Object.values(inspected?.networks ?? {})) {
        if (network.ipAddress) addresses.push(network.ipAddress);
      }
    }
    assert.ok(addresses.length >= 3, addresses.join());
    const direct = await Promise.all(addresses.map((address) => tcp(address, 8889)));
    direct.forEach((result, index) => {
      assert.ok(NO_ROUTE.includes(result), `${addresses[index]}: ${result}`);
    });
    for (const address of addresses) {
      const answer = parseCurl(
        (await bottle.exec(`curl -sS -i -m 15 http://${address}:8889/healthz`)).stdout,
      );
      assert.equal(answer.status, 403, `${address}: ${JSON.stringify(answer)}`);
      assert.equal(answer.block, "not-allowlisted");
    }
    const name = parseCurl(
      (await bottle.exec(`curl -sS -i -m 15 http://${other.container("egress-proxy")}:8889/healthz`)).stdout,
    );
    assert.equal(name.block, "not-allowlisted");
  });

  it("G7: filling memory is refused (the allocating process is OOM-killed at the limit; the bottle survives)", async () => {
    const limit = await bottle.exec(
      "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    );
    assert.equal(limit.stdout.trim(), String(4 * 1024 ** 3));
    const result = await bottle.execArgv(["node", "-e", FILL_MEMORY]);
    assert.equal(result.status, 137, `${result.status}: ${result.stdout.split("\n").slice(-3).join(" ")}`);
    const reached = Number(result.stdout.trim().split("\n").at(-1));
    assert.ok(reached >= 3 * 1024 && reached < 4 * 1024, `killed after ${reached} MiB`);
    assert.doesNotMatch(result.stdout, /never killed/);
    const alive = await bottle.exec("echo alive");
    assert.equal(alive.stdout, "alive\n");
    assert.equal((await engine.containerInspect(bottle.container("agent")))?.running, true);
  });

  it("G7: spawning processes without bound is refused (fork fails with EAGAIN at the pids limit; the bottle and its sidecars survive)", async () => {
    const limit = await bottle.exec(
      "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    );
    assert.equal(limit.stdout.trim(), "1024");
    const result = await bottle.execArgv(["node", "-e", SPAWN_UNBOUNDED]);
    assert.equal(result.status, 0, result.stderr);
    const { spawned, error } = JSON.parse(result.stdout) as { spawned: number; error: string };
    assert.equal(error, "EAGAIN");
    assert.ok(spawned > 900 && spawned < 1024, `spawned ${spawned}`);
    // Everything still works: the agent runs commands, the proxy answers and refuses as before.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await bottle.exec("echo alive")).stdout, "alive\n");
    const health = await bottle.exec("curl -sS -m 10 --noproxy '*' http://egress-proxy:8889/healthz");
    assert.match(health.stdout, /"status":"ok"/);
    const refused = parseCurl((await bottle.exec("curl -sS -i -m 15 http://not-allowed.example/")).stdout);
    assert.equal(refused.block, "not-allowlisted");
    const inspected = await engine.containerInspect(bottle.container("egress-proxy"));
    assert.equal(inspected?.running, true);
  });
});
