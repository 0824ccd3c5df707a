import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { DockerEngine, EngineInfo } from "../../../../src/backend/docker/engine/engine.ts";
import { EngineError } from "../../../../src/backend/docker/engine/error.ts";
import {
  brokenGvisor,
  describeRuntime,
  engineFailure,
  planIsolation,
  probeKey,
  resolveIsolation,
  runtimeFailureDetail,
} from "../../../../src/backend/docker/isolation.ts";
import { prepareDocker } from "../../../../src/backend/docker/prepare.ts";
import { egressProxySidecar } from "../../../../src/backend/docker/sidecars/egress-proxy.ts";
import { isUserError } from "../../../../src/lib/user-error.ts";
import type { BottlePlan } from "../../../../src/plan/bottle-plan.ts";

const WITH_GVISOR: EngineInfo = {
  id: "ENGINE-A",
  serverVersion: "20.10.24",
  runtimes: ["runc", "runsc"],
  runtimeConfigs: {
    runc: '{"path":"runc"}',
    runsc: '{"path":"/usr/bin/runsc","runtimeArgs":["--network=host"]}',
  },
  defaultRuntime: "runc",
  os: "linux",
  architecture: "x86_64",
  storage: { driver: "overlay2", backingFilesystem: "extfs" },
};
const WITHOUT_GVISOR: EngineInfo = { ...WITH_GVISOR, runtimes: ["runc"], runtimeConfigs: { runc: "{}" } };

// What Debian's runsc registered without runtimeArgs says at every start (seen on 20.10.24).
const PLAIN_RUNSC_STDERR =
  "docker: Error response from daemon: OCI runtime start failed: starting container: setting up network: creating interfaces from net namespace \"/proc/19893/ns/net\": cannot run with network enabled in root network namespace: unknown.\n\nRun 'docker run --help' for more information\n";

describe("which isolation a bottle asks for", () => {
  test("auto and gvisor probe a registered runsc; runc never does", () => {
    assert.equal(planIsolation("auto", WITH_GVISOR), "probe");
    assert.equal(planIsolation("gvisor", WITH_GVISOR), "probe");
    const runc = planIsolation("runc", WITH_GVISOR);
    assert.notEqual(runc, "probe");
    assert.equal(runc !== "probe" && runc.kind, "runc");
    assert.equal(runc !== "probe" && runc.runtime, undefined);
  });

  test("auto without runsc runs on runc and says how to get gVisor", () => {
    const chosen = planIsolation("auto", WITHOUT_GVISOR);
    assert.ok(chosen !== "probe");
    assert.equal(chosen.kind, "runc");
    assert.match(chosen.note, /no gVisor .*scripts\/docker-up\.sh.*isolation: gvisor/);
  });

  test("gvisor required without runsc is refused in one line naming the fix", () => {
    assert.throws(
      () => planIsolation("gvisor", WITHOUT_GVISOR),
      (error: unknown) =>
        isUserError(error) &&
        error.exitCode === 1 &&
        !error.message.includes("\n") &&
        /no `runsc` runtime/.test(error.message) &&
        /scripts\/docker-up\.sh/.test(error.message) &&
        /isolation: auto/.test(error.message),
    );
  });
});

describe("a registered gVisor that cannot start a container", () => {
  test("the engine's stack of causes becomes its last, plain reason", () => {
    assert.equal(
      runtimeFailureDetail(PLAIN_RUNSC_STDERR),
      "cannot run with network enabled in root network namespace",
    );
    assert.equal(runtimeFailureDetail(""), "no reason given");
    assert.ok(runtimeFailureDetail(`Error response from daemon: ${"x".repeat(500)}`).length <= 200);
  });

  test("the refusal is one line with the registration fix and the way to run without it", () => {
    const error = brokenGvisor(engineFailure(PLAIN_RUNSC_STDERR));
    assert.equal(error.exitCode, 1);
    assert.doesNotMatch(error.message, /\n/);
    assert.match(
      error.message,
      /"runtimeArgs": \["--network=host", "--overlay2=none", "--file-access=shared"\]/,
    );
    assert.match(error.message, /isolation: runc/);
    assert.doesNotMatch(error.message, /\/proc\/\d+|at \w+ \(/);
  });
});

describe("the probe and its cache", () => {
  const home = mkdtempSync(join(tmpdir(), "cb-isolation-"));
  after(() => rmSync(home, { recursive: true, force: true }));

  /** An engine whose `start` fails like plain runsc, or succeeds; records the calls. */
  function engine(startFails: boolean, listFails = false, copyLost = false) {
    const calls: string[] = [];
    const fake = {
      containerCreate: async (spec: { runtime?: string; network?: string; name?: string }) => {
        calls.push(`create ${spec.runtime} ${spec.network}`);
        return spec.name ?? "";
      },
      containerStart: async () => {
        calls.push("start");
        if (startFails)
          throw new EngineError({ command: ["start", "x"], exitCode: 1, stderr: PLAIN_RUNSC_STDERR });
      },
      containerCopyIn: async () => {
        calls.push("copy");
      },
      containerExec: async (_name: string, argv: string[]) => {
        calls.push(`exec ${argv.join(" ")}`);
        if (argv[0] === "cat") return { exitCode: 0, stdout: copyLost ? "" : "copied\n", stderr: "" };
        return listFails
          ? { exitCode: 2, stdout: "", stderr: "ls: cannot access '/': Invalid argument\n" }
          : { exitCode: 0, stdout: "dr-xr-xr-x 1 root root 4096 /\n", stderr: "" };
      },
      containerRemove: async () => {
        calls.push("remove");
      },
    } as unknown as DockerEngine;
    return { fake, calls };
  }

  test("a working gVisor is probed once, then the cache answers; a new registration probes again", async () => {
    const cacheFile = join(home, "cache", "isolation.json");
    const first = engine(false);
    const input = { info: WITH_GVISOR, setting: "auto" as const, image: "agent", cacheFile };
    assert.equal((await resolveIsolation({ ...input, engine: first.fake })).runtime, "runsc");
    assert.deepEqual(first.calls, [
      "create runsc none",
      "start",
      "exec ls -ld / /opt",
      "copy",
      "exec cat /opt/claude-bottle-probe/seen",
      "remove",
    ]);
    const again = engine(true);
    assert.equal((await resolveIsolation({ ...input, engine: again.fake })).kind, "gvisor");
    assert.deepEqual(again.calls, []);
    assert.ok(probeKey(WITH_GVISOR, "runsc") in JSON.parse(readFileSync(cacheFile, "utf8")));
    const reregistered = {
      ...WITH_GVISOR,
      runtimeConfigs: { ...WITH_GVISOR.runtimeConfigs, runsc: '{"path":"/usr/bin/runsc"}' },
    };
    const broken = engine(true);
    await assert.rejects(
      resolveIsolation({ ...input, info: reregistered, engine: broken.fake }),
      /registered but cannot start a container: cannot run with network enabled/,
    );
    assert.deepEqual(broken.calls, ["create runsc none", "start", "remove"]);
  });

  test("a failed probe is not cached: the next start tries again", async () => {
    const cacheFile = join(home, "other", "isolation.json");
    const input = {
      info: { ...WITH_GVISOR, id: "ENGINE-B" },
      setting: "gvisor" as const,
      image: "agent",
      cacheFile,
    };
    await assert.rejects(resolveIsolation({ ...input, engine: engine(true).fake }), /isolation: runc/);
    const fixed = engine(false);
    assert.equal((await resolveIsolation({ ...input, engine: fixed.fake })).kind, "gvisor");
    assert.equal(fixed.calls.length, 6);
  });

  test("a gVisor whose sandbox does not see files copied in after start is refused, naming the registration", async () => {
    const cacheFile = join(home, "cached-root", "isolation.json");
    const input = {
      info: { ...WITH_GVISOR, id: "ENGINE-D" },
      setting: "auto" as const,
      image: "agent",
      cacheFile,
    };
    await assert.rejects(
      resolveIsolation({ ...input, engine: engine(false, false, true).fake }),
      (error: unknown) =>
        isUserError(error) &&
        /copied into a running test container does not appear/.test(error.message) &&
        /"--overlay2=none", "--file-access=shared"/.test(error.message) &&
        /; set `isolation: runc`/.test(error.message),
    );
  });

  test("a gVisor whose containers cannot stat a file (runsc 2022-12: ls fails) is refused, naming the version that works", async () => {
    const cacheFile = join(home, "old", "isolation.json");
    const input = {
      info: { ...WITH_GVISOR, id: "ENGINE-C" },
      setting: "auto" as const,
      image: "agent",
      cacheFile,
    };
    await assert.rejects(
      resolveIsolation({ ...input, engine: engine(false, true).fake }),
      (error: unknown) =>
        isUserError(error) &&
        /cannot list \/ \(ls: cannot access '\/': Invalid argument\)/.test(error.message) &&
        /gVisor 2024 or later/.test(error.message) &&
        /isolation: runc/.test(error.message) &&
        !error.message.includes("\n"),
    );
  });

  test("status names runsc gvisor and anything else by its name", () => {
    assert.equal(describeRuntime("runsc"), "gvisor");
    assert.equal(describeRuntime(undefined), "runc");
    assert.equal(describeRuntime("kata"), "kata");
  });
});

describe("the containers a bottle plans", () => {
  const plan = {
    agent: { name: "dev", file: "x", origin: "home", prompt: "", skills: [] },
    bottle: { name: "default", file: "y", origin: "built-in" },
    env: [],
    egress: {
      allowlist: [],
      passthrough: [],
      passthroughClients: [],
      tlsInterception: true,
      ipAllowlist: [],
      hosts: {},
      upstreamCa: [],
    },
    gitRemotes: [],
    credProxy: { routes: [], slots: [] },
    supervise: { enabled: false },
    isolation: "auto",
    limits: {
      cpus: 2,
      memoryBytes: 4 * 1024 ** 3,
      processes: 1024,
      pushBytes: 1024 ** 3,
      auditBytes: 1024 ** 2,
    },
    missing: [],
  } as unknown as BottlePlan;
  const input = {
    plan,
    instance: "dev-0123abcd",
    images: { agent: "a", sidecar: "s" },
    answers: {},
    owner: { pid: 1, mode: "detached" as const },
    logDir: "/tmp/home/logs/dev-0123abcd",
    hostUser: { uid: 1000, gid: 1000 },
    runtime: "runsc",
  };
  const docker = prepareDocker(input);
  const egressProxy = egressProxySidecar.spec(docker);

  test("the agent runs on the chosen runtime, the egress proxy on the engine's default", () => {
    assert.equal(docker.agent.runtime, "runsc");
    assert.equal(egressProxy.runtime, undefined);
  });

  test("on gVisor the sandbox's kernel caps the agent's processes, and the host's limit leaves room for its threads", () => {
    assert.deepEqual(docker.agent.ulimits, { nproc: 1024 });
    assert.equal(docker.agent.pidsLimit, 4096);
    const { runtime: _gvisor, ...withoutRuntime } = input;
    const onRunc = prepareDocker(withoutRuntime);
    assert.equal(onRunc.agent.ulimits, undefined, "runc counts RLIMIT_NPROC per host uid: never set there");
    assert.equal(onRunc.agent.pidsLimit, 1024);
  });

  test("every container has a CPU, memory and process limit: the agent the bottle's, each sidecar 1 CPU", () => {
    assert.equal(docker.agent.cpus, 2);
    assert.equal(docker.agent.memoryBytes, 4 * 1024 ** 3);
    assert.equal(egressProxy.cpus, 1);
    assert.ok((egressProxy.memoryBytes ?? 0) > 0 && (egressProxy.pidsLimit ?? 0) > 0);
    const tight = prepareDocker({
      ...input,
      plan: { ...plan, limits: { ...plan.limits, cpus: 0.5, memoryBytes: 512 * 1024 ** 2, processes: 100 } },
    });
    assert.equal(tight.agent.cpus, 0.5);
    assert.equal(tight.agent.memoryBytes, 512 * 1024 ** 2);
    assert.deepEqual(tight.agent.ulimits, { nproc: 100 });
  });

  test("the agent's resolver forwards unknown names only inside its own namespace; the proxy's resolves", () => {
    assert.deepEqual(docker.agent.dns, ["127.0.0.1"]);
    assert.equal(egressProxy.dns, undefined);
  });
});
