import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pc from "picocolors";
import { AGENT_USER, AGENT_WORKDIR } from "../../backend/docker/agent-env.ts";
import { waitReady } from "../../backend/docker/container-steps.ts";
import type { DockerEngine } from "../../backend/docker/engine/engine.ts";
import { defaultStageDir, ensureImages } from "../../backend/docker/images.ts";
import { stopInstance } from "../../backend/docker/lifecycle/stop.ts";
import { listeningCheck } from "../../backend/docker/listening-probe.ts";
import { labelsFor, type Ownership } from "../../backend/docker/prepare.ts";
import { resourceName } from "../../backend/instance.ts";
import type { DemoApiConfig, RecordedRequest } from "../../contracts/demo-api.ts";
import { homeLayout } from "../../lib/home-layout.ts";
import { visible, visibleLines } from "../../lib/terminal-text.ts";
import { generateBottleCa, loadSigningCa } from "../../lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../lib/tls/leaf.ts";
import { planFor } from "../../plan/plan-for.ts";
import { type CliContext, planContext } from "../context.ts";
import { openDocker } from "../docker-context.ts";
import { startBottle } from "../start-bottle.ts";
import { demoScript } from "./demo-script.ts";
import { bridgeGateway, type SshUpstream, startUpstream } from "./git-upstream.ts";

const API_HOST = "api.anthropic.com";
const ALLOWED_HOST = "www.demo.test";
const GIT_HOST = "git.demo.test";
const DEMO_API_PORT = 8443;
const PROMPT = "Show what this bottle allows and what it refuses.";

export interface DemoResult {
  ok: boolean;
  checks: { what: string; ok: boolean }[];
}

/**
 * `claude-bottle demo`: the real Claude Code in a real bottle, driven by a scripted stand-in for
 * the Anthropic API (so no account is needed), showing an allowed request, a refused host, a
 * refused secret push and a clean push through git-gate to a real sshd upstream; then teardown.
 * Every resource it makes is labelled, owned by this process and removed on the way out.
 */
export async function runDemo(context: CliContext): Promise<DemoResult> {
  const say = (line: string) => context.stderr.write(`${line}\n`);
  const docker = await openDocker(context);
  const { engine } = docker;
  const run = `demo-${randomBytes(4).toString("hex")}`;
  const owner: Ownership = { pid: process.pid, mode: "attached" };
  await using stack = new AsyncDisposableStack();

  say(pc.bold("claude-bottle demo: the real Claude Code in a bottle, driven by a scripted API"));
  const [sidecar, agent, gitUpstream] = await ensureImages(["sidecar", "agent", "git-upstream"], {
    engine,
    stageDir: defaultStageDir(context.env),
    progress: null,
  });
  const home = mkdtempSync(join(tmpdir(), "claude-bottle-demo-"));
  stack.defer(() => rmSync(home, { recursive: true, force: true }));
  const gateway = await bridgeGateway(engine);

  say("starting a git upstream (sshd) and the scripted API");
  const upstream: SshUpstream = stack.use(
    await startUpstream(engine, {
      image: gitUpstream!.tag,
      name: resourceName(run, "demo-upstream"),
      labels: labelsFor(run, "demo-upstream", owner),
    }),
  );
  const repoUrl = `ssh://git@${GIT_HOST}:${upstream.port}/srv/git/repo.git`;
  const script = demoScript({ allowedUrl: `https://${ALLOWED_HOST}/demo/hello`, repoUrl });
  const records = join(home, "records");
  mkdirSync(records, { mode: 0o700 });
  const apiCaFile = await startDemoApi(engine, stack, {
    run,
    owner,
    image: sidecar!.tag,
    gateway,
    records,
    home,
    script: script.map((entry) => entry.step),
  });

  const token = `demo-${randomBytes(24).toString("hex")}`;
  const keyFile = join(home, "demo_ed25519");
  writeFileSync(keyFile, upstream.clientKey, { mode: 0o600 });
  writeDemoManifests(home, { gateway, upstream, repoUrl, keyFile, apiCaFile });

  const demoContext: CliContext = {
    ...context,
    env: { ...context.env, CLAUDE_BOTTLE_HOME: home, DEMO_ANTHROPIC_KEY: token },
    cwd: home,
  };
  const plan = planFor(planContext(demoContext), "demo");
  const bottleDocker = await openDocker(demoContext);
  const { instance } = await startBottle({ ...demoContext, stdout: devNull() }, bottleDocker, plan, {
    detach: true,
    images: { sidecar: sidecar!.tag, agent: agent!.tag },
  });
  stack.defer(async () => {
    await stopInstance(bottleDocker, instance);
    say(`bottle ${instance} removed`);
  });
  const agentContainer = resourceName(instance, "agent");

  say(`running: claude -p "${PROMPT}" --dangerously-skip-permissions  (inside the bottle)`);
  const claude = await engine.containerExec(
    agentContainer,
    ["claude", "-p", PROMPT, "--output-format", "json", "--dangerously-skip-permissions"],
    {
      user: AGENT_USER,
      workdir: AGENT_WORKDIR,
      timeoutMs: 300_000,
    },
  );
  const requests = readRecords(join(records, "requests.jsonl"));
  printTranscript(say, script, requests);

  const tokenHash = createHash("sha256").update(token).digest("hex");
  const apiCalls = requests.filter((request) => request.path.startsWith("/v1/"));
  const agentEnv = await engine.containerExec(
    agentContainer,
    ["sh", "-c", "env; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'"],
    { user: AGENT_USER },
  );
  const upstreamFiles = await upstream.sh("git --git-dir /srv/git/repo.git ls-tree --name-only -r main");
  const checks = [
    {
      what: "Claude Code finished the script",
      ok: claude.exitCode === 0 && requests.filter((request) => request.hadTools).length >= script.length,
    },
    {
      what: "every API call carried the real key, injected by cred-proxy",
      ok: apiCalls.length > 0 && apiCalls.every((request) => request.credentialSha256 === tokenHash),
    },
    { what: "the key is nowhere in the agent's environment", ok: !agentEnv.stdout.includes(token) },
    { what: "the secret never reached upstream", ok: !upstreamFiles.split("\n").includes("config.ini") },
    { what: "the clean commit landed upstream", ok: upstreamFiles.split("\n").includes("HELLO.md") },
  ];
  say(pc.bold("\nChecks"));
  for (const check of checks) say(`  ${check.ok ? pc.green("✔") : pc.red("✘")} ${check.what}`);
  if (claude.exitCode !== 0)
    say(pc.dim(`claude exited ${claude.exitCode}: ${visibleLines(claude.stderr.trim().slice(0, 500))}`));
  return { ok: checks.every((check) => check.ok), checks };
}

async function startDemoApi(
  engine: DockerEngine,
  stack: AsyncDisposableStack,
  options: {
    run: string;
    owner: Ownership;
    image: string;
    gateway: string;
    records: string;
    home: string;
    script: DemoApiConfig["script"];
  },
): Promise<string> {
  const ca = await generateBottleCa({ commonName: "claude-bottle demo upstream CA" });
  const signing = await loadSigningCa(ca.certPem, ca.keyPem);
  const certificates = await Promise.all(
    [API_HOST, ALLOWED_HOST].map(async (host) => {
      const leaf = await mintLeaf(signing, await generateLeafKey(), host);
      return { host, cert: leaf.certPem, key: leaf.keyPem };
    }),
  );
  const caFile = join(options.home, "demo-upstream-ca.pem");
  writeFileSync(caFile, ca.certPem);
  const name = resourceName(options.run, "demo-api");
  const user = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  stack.defer(() => engine.containerRemove(name));
  await engine.containerCreate({
    image: options.image,
    name,
    labels: labelsFor(options.run, "demo-api", options.owner),
    user: `${user.uid}:${user.gid}`,
    command: ["demo-api", "--config", "/etc/demo-api/config.json"],
    capDrop: ["ALL"],
    securityOpt: ["no-new-privileges"],
    mounts: [{ source: options.records, target: "/records" }],
    // The bottle reaches it as api.anthropic.com:443 through `egress.hosts: host-gateway`.
    publish: [{ hostIp: options.gateway, hostPort: 443, containerPort: DEMO_API_PORT }],
  });
  const config: DemoApiConfig = {
    script: options.script,
    certificates,
    port: DEMO_API_PORT,
    recordFile: "/records/requests.jsonl",
  };
  await engine.containerCopyIn(name, "/", [
    {
      path: "etc/demo-api/config.json",
      content: JSON.stringify(config),
      mode: 0o600,
      uid: user.uid,
      gid: user.gid,
    },
  ]);
  await engine.containerStart(name);
  await waitReady(engine, name, listeningCheck(DEMO_API_PORT));
  return caFile;
}

function writeDemoManifests(
  home: string,
  facts: { gateway: string; upstream: SshUpstream; repoUrl: string; keyFile: string; apiCaFile: string },
): void {
  const layout = homeLayout(home);
  mkdirSync(layout.bottles);
  mkdirSync(layout.agents);
  writeFileSync(
    join(layout.bottles, "demo.md"),
    `---
description: The demo bottle. The API and the git upstream are local stand-ins.
git:
  - Name: demo
    Upstream: ${facts.repoUrl}
    IdentityFile: ${facts.keyFile}
    KnownHostKey: "${facts.upstream.hostKey}"
    ExtraHosts: {${GIT_HOST}: ${facts.gateway}}
cred_proxy:
  routes:
    - path: /anthropic
      upstream: https://${API_HOST}
      auth_scheme: x-api-key
      token_ref: DEMO_ANTHROPIC_KEY
      role: anthropic-base-url
egress:
  allowlist: [${ALLOWED_HOST}]
  hosts: {${API_HOST}: host-gateway, ${ALLOWED_HOST}: host-gateway}
  ip_allowlist: ["${facts.gateway}/32"]
  upstream_ca: ["${facts.apiCaFile}"]
---
`,
  );
  writeFileSync(join(layout.agents, "demo.md"), `---\nbottle: demo\n---\n${PROMPT}\n`);
}

function readRecords(file: string): RecordedRequest[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedRequest);
  } catch {
    return [];
  }
}

/** Each scripted step with what the bottle answered (the next API call carries the output). */
function printTranscript(
  say: (line: string) => void,
  script: ReturnType<typeof demoScript>,
  requests: RecordedRequest[],
): void {
  const turns = requests.filter((request) => request.hadTools);
  script.forEach((entry, index) => {
    if (!("bash" in entry.step)) return;
    say(pc.bold(`\n${index + 1}. ${entry.shows}`));
    say(
      pc.cyan(
        `   $ ${entry.step.bash.length > 160 ? `${entry.step.bash.slice(0, 157)}...` : entry.step.bash}`,
      ),
    );
    const output = turns[index + 1]?.toolResults.join("\n").trim() ?? "(no answer recorded)";
    // What the agent's commands printed: shown as text, whatever escape codes it holds.
    for (const line of output.split("\n").slice(0, 12)) say(`   ${visible(line)}`);
  });
}

function devNull(): NodeJS.WritableStream {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
