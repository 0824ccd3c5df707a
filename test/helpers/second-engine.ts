/**
 * A second, throwaway Docker engine for tests that must control what the engine's host looks
 * like: it runs in a network namespace the test creates (nothing it does reaches the machine's
 * network), sees its own /etc/resolv.conf (a mount namespace with that one file bound over), and
 * has its own data, exec root, socket and daemon.json. A recording DNS server listens on the
 * namespace's loopback, where that resolv.conf points: every name that leaves a container through
 * the engine's host side is seen there.
 *
 * Needs root, iproute2 (`ip`), util-linux (`nsenter`, `unshare`) and dockerd on this machine.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface SecondEngine extends AsyncDisposable {
  /** `DOCKER_HOST` of the engine. */
  host: string;
  /** The engine's network namespace (`nsenter --net=<it>`): programs there are its host side. */
  netns: string;
  /**
   * Names the recorder has been asked for so far, lower-cased, in order: after a pause that lets
   * its output in (a synchronous `docker` call blocks the event loop that reads it).
   */
  queries(): Promise<string[]>;
  /** Replaces daemon.json and reloads the engine (SIGHUP), as docker-up.sh does. */
  reconfigure(daemonJson: object): Promise<void>;
  /** `docker -H <host> ...`, stdout. */
  docker(args: readonly string[]): string;
}

/** Why this machine cannot host a second engine, or undefined when it can. */
export function secondEngineUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "a second engine needs root";
  for (const tool of ["/usr/sbin/dockerd", "/usr/sbin/ip", "/usr/bin/nsenter", "/usr/bin/unshare"]) {
    if (!existsSync(tool)) return `${tool} is missing`;
  }
  return undefined;
}

// Answers nothing: it only writes each asked name (UDP or TCP) as a line on stdout.
const RECORDER = `
const dgram = require("node:dgram"), net = require("node:net");
function qname(buf, at) {
  const labels = [];
  while (at < buf.length && buf[at] !== 0 && labels.length < 128) {
    const len = buf[at]; labels.push(buf.subarray(at + 1, at + 1 + len).toString("latin1")); at += 1 + len;
  }
  return labels.join(".").toLowerCase();
}
const udp = dgram.createSocket("udp4");
udp.on("message", (msg) => process.stdout.write("Q " + qname(msg, 12) + "\\n"));
udp.bind(53, "127.0.0.1", () => {
  net.createServer((socket) => socket.on("data", (data) => process.stdout.write("Q " + qname(data, 14) + "\\n")))
    .listen(53, "127.0.0.1", () => process.stdout.write("READY\\n"));
});
`;

export async function startSecondEngine(
  daemonJson: object,
  /** `dataRoot`: where the engine stores images and containers; default a dir of its own. */
  options: { dataRoot?: string } = {},
): Promise<SecondEngine> {
  const id = randomBytes(3).toString("hex");
  const netns = `cbtest-${id}`;
  const root = join("/tmp", `cb-engine-${id}`);
  const socket = join(root, "docker.sock");
  const host = `unix://${socket}`;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  writeFileSync(join(root, "resolv.conf"), "nameserver 127.0.0.1\n");
  writeFileSync(join(root, "daemon.json"), JSON.stringify(daemonJson));
  execFileSync("ip", ["netns", "add", netns]);
  execFileSync("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
  const inNetns = [`--net=/var/run/netns/${netns}`];
  const seen: string[] = [];

  const recorder = spawn("nsenter", [...inNetns, process.execPath, "-e", RECORDER], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let ready!: () => void;
  const recorderReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  let buffered = "";
  recorder.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "READY") ready();
      else if (line.startsWith("Q ")) seen.push(line.slice(2));
    }
  });

  const dockerd = spawn(
    "nsenter",
    [
      ...inNetns,
      "unshare",
      "--mount",
      "--propagation",
      "slave",
      "sh",
      "-c",
      'mount --bind "$1/resolv.conf" /etc/resolv.conf && exec /usr/sbin/dockerd ${CB_ENGINE_DEBUG:+--debug} --data-root "$2" --exec-root "$1/exec" --pidfile "$1/docker.pid" --config-file "$1/daemon.json" -H "unix://$1/docker.sock"',
      "sh",
      root,
      options.dataRoot ?? join(root, "data"),
    ],
    { stdio: ["ignore", "ignore", process.env.CB_ENGINE_DEBUG ? "inherit" : "ignore"] },
  );

  const docker = (args: readonly string[]) =>
    execFileSync("docker", ["-H", host, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const stop = async () => {
    try {
      const ids = docker(["ps", "--all", "--quiet"]).trim();
      if (ids) docker(["rm", "--force", ...ids.split("\n")]);
    } catch {}
    // dockerd stops its containerd on SIGTERM; anything of this engine that outlives it goes too.
    dockerd.kill("SIGTERM");
    const exited = new Promise((resolve) =>
      dockerd.exitCode === null ? dockerd.once("exit", resolve) : resolve(null),
    );
    const timer = setTimeout(() => dockerd.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
    recorder.kill("SIGTERM");
    spawnSync("pkill", ["--full", root]);
    spawnSync("ip", ["netns", "del", netns]);
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await recorderReady;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        docker(["info", "--format", "{{.ID}}"]);
        break;
      } catch (error) {
        if (Date.now() > deadline || dockerd.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    host,
    netns: `/var/run/netns/${netns}`,
    queries: async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return [...seen];
    },
    docker,
    async reconfigure(next: object) {
      writeFileSync(join(root, "daemon.json"), JSON.stringify(next));
      // The engine's own pid (sh exec'd into dockerd keeps the pid nsenter's child has).
      const pid = Number(execFileSync("cat", [join(root, "docker.pid")], { encoding: "utf8" }).trim());
      process.kill(pid, "SIGHUP");
      const wanted = JSON.stringify((next as { runtimes?: unknown }).runtimes ?? {});
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const runtimes = JSON.parse(docker(["info", "--format", "{{json .Runtimes}}"])) as Record<
          string,
          unknown
        >;
        const ours = Object.fromEntries(
          Object.entries(runtimes).filter(([name]) => name in JSON.parse(wanted)),
        );
        if (JSON.stringify(ours) === wanted) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the engine did not reload ${wanted}`);
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** Copies images from the machine's engine into `engine`, streamed (shared layers once). */
export function copyImages(engine: SecondEngine, images: readonly string[]): void {
  execFileSync("sh", ["-c", 'docker save "$@" | docker -H "$0" load --quiet', engine.host, ...images], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}
