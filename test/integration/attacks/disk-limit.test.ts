/**
 * `limits.disk` holds (docs/resources.md): on an engine that can cap a container's disk
 * (test/integration/docker/quota-engine.ts: a second engine whose data-root is XFS with `pquota`,
 * or btrfs, where the kernel has no XFS quota), a disk filler in a real bottle's agent is stopped
 * at the cap, while a second bottle beside it (the positive control) keeps fetching its
 * allowlisted host and writing, and the filler's own sidecars keep serving it. That the machine's
 * engine (overlay2 on ext4) refuses such a bottle before anything exists is resources.test.ts's.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { copyImages } from "../../helpers/second-engine.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { startQuotaEngine } from "../docker/quota-engine.ts";
import { supervisedBottle } from "../supervise/mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const quota = docker.skip ? { skip: docker.skip } : await startQuotaEngine();
const IMAGES = [
  "claude-bottle/agent:latest",
  "claude-bottle/sidecar:latest",
  "claude-bottle/base:bookworm-node24",
];
const DISK = 2 * 1024 ** 3;
/** The allowlisted host, served on the quota engine's host side (its own network namespace). */
const WEB_PORT = 8080;
const WEB = `
require("node:http").createServer((request, response) => response.end("hello\\n"))
  .listen(${WEB_PORT}, "0.0.0.0", () => process.stdout.write("READY\\n"));
`;

describe("limits.disk on an engine that can cap a container's disk", {
  skip: "skip" in quota ? quota.skip : false,
  timeout: 900_000,
}, () => {
  const engine = quota as Exclude<typeof quota, { skip: string }>;
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let web: ChildProcess | undefined;
  let filler = "";
  let control = "";
  const a = supervisedBottle(() => ({ instance: filler, env, cwd: fixture.project }));
  const b = supervisedBottle(() => ({ instance: control, env, cwd: fixture.project }));
  const fetches = async (bottle: typeof a, who: string) => {
    const fetched = await bottle.sh(`curl -sS -m 30 http://web.test:${WEB_PORT}/`);
    assert.equal(fetched.stdout, "hello\n", `${who}: ${fetched.stderr}`);
  };
  const left = (kind: "ps" | "network") =>
    engine
      .docker([
        ...(kind === "ps" ? ["ps", "--all"] : ["network", "ls"]),
        "--quiet",
        "--filter",
        "label=claude-bottle.instance",
      ])
      .trim();

  before(async () => {
    copyImages(engine, IMAGES);
    web = spawn("nsenter", [`--net=${engine.netns}`, process.execPath, "-e", WEB], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      web!.stdout!.setEncoding("utf8").on("data", (chunk: string) => chunk.includes("READY") && resolve());
      web!.once("exit", (code) => reject(new Error(`the web server exited (${code})`)));
    });
    // host-gateway is the default bridge's gateway of this engine (its first address, as
    // bridgeGateway has it): an address of the engine's own namespace.
    const gateway = engine
      .docker(["network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Subnet}}"])
      .trim()
      .replace(/\.0\/\d+$/, ".1");
    fixture = tempHome();
    fixture.write(
      "bottles/capped.md",
      manifest(`
isolation: runc
egress:
  allowlist: ["web.test:${WEB_PORT}"]
  hosts: {web.test: host-gateway}
  ip_allowlist: ["${gateway}/32"]
limits:
  disk: 2g
`),
    );
    fixture.write("agents/filler.md", manifest("bottle: capped", "Fill the disk."));
    fixture.write("agents/control.md", manifest("bottle: capped", "Keep working."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home, DOCKER_HOST: engine.host };
    const first = await a.cli(["start", "filler", "--yes", "--detach"]);
    assert.equal(first.status, 0, first.stderr);
    filler = first.stdout.trim();
    const second = await b.cli(["start", "control", "--yes", "--detach"]);
    assert.equal(second.status, 0, second.stderr);
    control = second.stdout.trim();
  });

  after(async () => {
    if (filler) await a.cli(["stop", filler]);
    if (control) await b.cli(["stop", control]);
    web?.kill("SIGTERM");
    fixture?.[Symbol.dispose]();
    if (!("skip" in quota)) await quota[Symbol.asyncDispose]();
  });

  it("runs the agent with the cap; the preflight shows it", async () => {
    const opts = engine.docker([
      "inspect",
      "--format",
      "{{json .HostConfig.StorageOpt}}",
      `cb-${filler}-agent`,
    ]);
    assert.deepEqual(JSON.parse(opts), { size: String(DISK) });
    assert.match((await a.cli(["start", "filler", "--dry-run"])).stdout, /agent disk: 2 GiB/);
  });

  it("stops a disk filler at limits.disk; the bottle beside it keeps fetching and writing", async () => {
    // Control: the engine's filesystem has room for all of it, so only the cap can stop it.
    const room = Number((await a.sh("df -B1 --output=avail ~ | tail -1")).stdout.trim());
    assert.ok(room > 3 * 1024 ** 3, `the engine's filesystem has ${room} bytes free`);
    const fill = a.sh('head -c 3G /dev/zero > ~/fill.bin; echo "rc=$?"; stat -c %s ~/fill.bin');
    await fetches(b, "the control bottle, while the filler runs");
    const filled = await fill;
    // overlay2 on XFS answers ENOSPC; a btrfs qgroup answers EDQUOT.
    assert.match(filled.stderr, /No space left on device|Disk quota exceeded/, filled.stderr);
    const [rc, size] = filled.stdout.trim().split("\n");
    assert.notEqual(rc, "rc=0", filled.stdout);
    // Up to the cap; on btrfs the image's files count too (the agent image, less what it shares).
    const image = Number(engine.docker(["image", "inspect", "--format", "{{.Size}}", IMAGES[0]!]).trim());
    const bytes = Number(size);
    const floor = engine.driver === "btrfs" ? DISK - image - 256 * 1024 ** 2 : DISK - 256 * 1024 ** 2;
    assert.ok(
      bytes <= DISK && bytes >= floor,
      `the filler wrote ${bytes} bytes (cap ${DISK}, image ${image})`,
    );
    console.log(
      `# ${engine.filesystem}/${engine.driver}: the filler wrote ${bytes} bytes: ${filled.stderr.trim()}`,
    );

    await fetches(b, "the control bottle, after");
    const wrote = await b.sh("head -c 1048576 /dev/urandom > ~/small.bin && stat -c %s ~/small.bin");
    assert.equal(wrote.stdout.trim(), "1048576", wrote.stderr);
  });

  it("the filler's own sidecars keep serving it, full and after it deletes the fill", async () => {
    await fetches(a, "the filler, full");
    const freed = await a.sh(
      "rm -f ~/fill.bin && head -c 1048576 /dev/zero > ~/small.bin && stat -c %s ~/small.bin",
    );
    assert.equal(freed.stdout.trim(), "1048576", freed.stderr);
    await fetches(a, "the filler, after");
  });

  it("stop leaves nothing of either bottle on the engine", async () => {
    for (const [bottle, instance] of [
      [a, filler],
      [b, control],
    ] as const) {
      const stopped = await bottle.cli(["stop", instance]);
      assert.equal(stopped.status, 0, stopped.stderr);
    }
    filler = "";
    control = "";
    assert.equal(left("ps"), "", "containers left");
    assert.equal(left("network"), "", "networks left");
  });
});
