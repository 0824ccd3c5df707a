/**
 * git-gate benchmark: push and clone of a repository with many commits, through the gate (from
 * inside a launched bottle's agent, `git://git-gate/...`) versus directly to the same sshd (from
 * the host, over SSH with the same key and pinned host key). The upstream is the integration
 * tests' sshd container (images/git-upstream), published on the docker0 address.
 *
 *   node bench/git-gate/run.ts [--commits 2000] [--clones 3]
 *
 * Through the gate a push also pays for the secret scan of every new commit (each touched file
 * whole, each message) and the forwarding SSH push; a clone also pays for the refresh of the
 * mirror from upstream (one SSH fetch) before git daemon serves it. Times are wall clock of the
 * git command alone, measured where it runs (in the agent container for the gate).
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { CliDockerEngine } from "../../src/backend/docker/engine/cli.ts";
import { runCliAsync } from "../../test/helpers/run-cli.ts";
import { manifest, tempHome } from "../../test/helpers/temp-home.ts";
import { testInstance } from "../../test/integration/docker/engine-available.ts";
import {
  buildUpstreamImage,
  startUpstream,
  UPSTREAM_IMAGE,
  UPSTREAM_REPO,
} from "../../test/integration/git-gate/upstream.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: { commits: { type: "string", default: "2000" }, clones: { type: "string", default: "3" } },
});
const commits = Number(values.commits);
const clones = Number(values.clones);
const engine = new CliDockerEngine();
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** A repository of `count` commits, each changing a source file and adding a small one. */
async function makeRepo(dir: string, count: number): Promise<void> {
  const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null" };
  await run("git", ["init", "-q", "--initial-branch=main", dir], { env });
  // fast-import: thousands of commits in one process.
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    const main = `export const version = ${index};\n${"// filler line of ordinary source code\n".repeat(40)}`;
    const extra = `function f${index}(x) {\n  return x * ${index} + ${index % 7};\n}\n`;
    const message = `change ${index}`;
    lines.push(
      "commit refs/heads/main",
      `committer Bench <bench@test> ${1_700_000_000 + index} +0000`,
      `data ${Buffer.byteLength(message)}`,
      message,
      `M 644 inline src/main.js`,
      `data ${Buffer.byteLength(main)}`,
      main,
      `M 644 inline src/f/f${index}.js`,
      `data ${Buffer.byteLength(extra)}`,
      extra,
      "",
    );
  }
  const stream = `${lines.join("\n")}\n`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile("git", ["-C", dir, "fast-import", "--quiet"], { env }, (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin?.end(stream);
  });
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return (performance.now() - started) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const test = testInstance();
await buildUpstreamImage(engine);
await using upstream = await startUpstream(engine, test.labels);
await upstream.sh("git init -q --bare --initial-branch=main /srv/git/direct.git");
using fixture = tempHome();
const work = await mkdtemp(join(tmpdir(), "git-gate-bench-"));
let instance = "";
const env = { CLAUDE_BOTTLE_HOME: fixture.home };
try {
  log(`making a repository of ${commits} commits`);
  await makeRepo(join(work, "repo"), commits);

  // Direct: the host's git over SSH, the same key and pinning as the gate uses.
  const key = fixture.write("keys/bench", upstream.clientKey);
  await run("chmod", ["600", key]);
  const knownHosts = fixture.write("known_hosts", `bench-upstream ${upstream.hostKey}\n`);
  const sshCommand = `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -o HostKeyAlias=bench-upstream`;
  const direct = `ssh://git@${upstream.address}:${upstream.port}/srv/git/direct.git`;
  const gitEnv = { ...process.env, GIT_SSH_COMMAND: sshCommand, GIT_CONFIG_GLOBAL: "/dev/null" };
  const directPush = await timed(() =>
    run("git", ["-C", join(work, "repo"), "push", "-q", direct, "main"], { env: gitEnv }),
  );
  const directClones: number[] = [];
  for (let index = 0; index < clones; index++) {
    const target = join(work, `direct-clone-${index}`);
    directClones.push(
      await timed(() => run("git", ["clone", "-q", "--bare", direct, target], { env: gitEnv })),
    );
    await rm(target, { recursive: true, force: true });
  }

  // Through the gate: a real bottle; git runs in the agent.
  const url = `ssh://git@bench-upstream.test:${upstream.port}${UPSTREAM_REPO}`;
  fixture.write(
    "bottles/bench.md",
    manifest(`
git:
  - Name: app
    Upstream: "${url}"
    IdentityFile: ${key}
    KnownHostKey: "${upstream.hostKey}"
    ExtraHosts: {bench-upstream.test: ${upstream.address}}
`),
  );
  fixture.write("agents/bench.md", manifest("bottle: bench", "Bench."));
  log("launching a bottle");
  const started = await runCliAsync(["start", "bench", "--yes", "--detach"], { env, cwd: fixture.project });
  if (started.status !== 0) throw new Error(started.stderr);
  instance = started.stdout.trim();
  const agent = `cb-${instance}-agent`;
  // As the agent user through tar on stdin (all capabilities are dropped: no chown after a docker cp).
  const tarball = (await run("tar", ["-C", work, "-c", "repo"], { encoding: "buffer", maxBuffer: 1 << 30 }))
    .stdout;
  await engine.containerExec(agent, ["tar", "-x", "-C", "/tmp"], {
    user: "node",
    input: tarball,
    check: true,
  });
  /** Seconds the command takes inside the agent (docker exec's own overhead excluded). */
  const inAgent = async (command: string): Promise<number> => {
    const result = await engine.containerExec(
      agent,
      [
        "sh",
        "-c",
        `s=$(date +%s%N); ${command} >/dev/null 2>/tmp/err || { cat /tmp/err >&2; exit 1; }; e=$(date +%s%N); echo $((e - s))`,
      ],
      { user: "node", check: true },
    );
    return Number(result.stdout.trim()) / 1e9;
  };
  const gatePush = await inAgent(`git -C /tmp/repo push -q ${url} main:refs/heads/bench`);
  // The gate's own account of where its time went (scan, forward), as the pushing client saw it.
  const said = await engine.containerExec(agent, ["cat", "/tmp/err"], { user: "node" });
  log(
    `gate said: ${
      said.stdout
        .split("\n")
        .find((line) => line.includes("git-gate: scanned"))
        ?.trim() ?? "(nothing)"
    }`,
  );
  const gateClones: number[] = [];
  for (let index = 0; index < clones; index++) {
    gateClones.push(await inAgent(`git clone -q --bare ${url} /tmp/clone-${index}`));
    await engine.containerExec(agent, ["rm", "-rf", `/tmp/clone-${index}`], { user: "node" });
  }
  const upstreamHead = await upstream.ref("refs/heads/bench");
  const localHead = (await run("git", ["-C", join(work, "repo"), "rev-parse", "main"])).stdout.trim();
  if (upstreamHead !== localHead) throw new Error("the push through the gate did not land upstream");

  const row = (what: string, directS: number, gateS: number) =>
    `${what.padEnd(28)} direct ${directS.toFixed(2).padStart(6)} s   gate ${gateS.toFixed(2).padStart(6)} s   ratio ${(gateS / directS).toFixed(2)}x`;
  process.stdout.write(
    [
      `git-gate bench: ${commits} commits (${2 * commits} blobs), clone = median of ${clones}`,
      row("push (new repository)", directPush, gatePush),
      row("clone", median(directClones), median(gateClones)),
      "",
    ].join("\n"),
  );
} finally {
  if (instance) await runCliAsync(["stop", instance], { env, cwd: fixture.project });
  await rm(work, { recursive: true, force: true });
  if (process.env.CLAUDE_BOTTLE_TEST_KEEP_IMAGES !== "1") {
    await engine.imageRemove(UPSTREAM_IMAGE, { force: true }).catch(() => {});
  }
}
