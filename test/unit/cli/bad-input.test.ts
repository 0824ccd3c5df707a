/**
 * Hostile and malformed input through the real bin, as a new user or a cloned repository would
 * give it: every case gets one clear answer (its exit code, its message, `file:line:column` where
 * one applies), no stack trace, no value that was meant to stay secret, within a time and memory
 * bound. Needs no Docker engine: an engine-backed command is pointed at a socket that is not there.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BIN } from "../../helpers/run-cli.ts";
import { manifest, type TempHome, tempHome } from "../../helpers/temp-home.ts";

/** Meant to stay secret: it must never be printed. */
const SECRET = "Tr0ub4dor-and-3-zebras-KEEP-OUT";
const STACK = /\n\s+at .+:\d+:\d+|internal error/;

interface Case {
  name: string;
  /** Files to write (home-relative, or absolute under the project via `project:`), links, FIFOs. */
  setup?: (fixture: TempHome) => void;
  args: string[];
  env?: NodeJS.ProcessEnv;
  stdin?: string | "zero";
  status: number;
  message: RegExp;
  /** The message carries `file:line:column`. */
  positioned?: boolean;
  /** The working directory is removed just before the CLI starts in it. */
  deleteCwd?: boolean;
}

function run(
  fixture: TempHome,
  item: Case,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const argv = ["--max-old-space-size=256", BIN, ...item.args];
    const [command, args] = item.deleteCwd
      ? ["sh", ["-c", 'rmdir "$PWD" && exec "$0" "$@"', process.execPath, ...argv]]
      : [process.execPath, argv];
    const child = spawn(command as string, args as string[], {
      cwd: fixture.project,
      env: {
        PATH: process.env.PATH,
        HOME: fixture.home,
        NO_COLOR: "1",
        CLAUDE_BOTTLE_HOME: fixture.home,
        DOCKER_HOST: "unix:///nonexistent/docker.sock",
        ...item.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      if (stdout.length < 1 << 20) stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 1 << 20) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    if (item.stdin === "zero") {
      // An endless stream: the reader must stop at its cap, not exhaust memory.
      const chunk = Buffer.alloc(1 << 20);
      const pump = () => {
        while (child.stdin.writable && child.stdin.write(chunk)) {}
      };
      child.stdin.on("drain", pump);
      pump();
    } else child.stdin.end(item.stdin ?? "");
  });
}

const bottle = (frontmatter: string) => (fixture: TempHome) => {
  fixture.write("bottles/b.md", manifest(frontmatter));
  fixture.write("agents/a.md", manifest("bottle: b"));
};
const agent =
  (frontmatter: string, body = "") =>
  (fixture: TempHome) =>
    fixture.write("agents/a.md", manifest(frontmatter, body));
const projectAgent = (name: string, text: string) => (fixture: TempHome) =>
  fixture.write(join(fixture.project, ".claude-bottle", "agents", name), text);
const dryRun = (name = "a") => ["start", name, "--dry-run"];

const cases: Case[] = [
  // --- YAML that does not parse, or parses into something unexpected ---
  {
    name: "an unquoted *.pythonhosted.org in the allowlist (an alias to nothing)",
    setup: bottle("egress:\n  allowlist: [pypi.org, *.pythonhosted.org]"),
    args: dryRun(),
    status: 2,
    message: /quote values that start with `\*`/,
    positioned: true,
  },
  {
    name: "the same in block style",
    setup: bottle("egress:\n  allowlist:\n    - *.pythonhosted.org"),
    args: dryRun(),
    status: 2,
    message: /quote values that start with `\*`/,
    positioned: true,
  },
  {
    name: "a billion laughs (alias expansion)",
    setup: bottle(
      `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]`,
    ),
    args: dryRun(),
    status: 2,
    message: /alias|anchor/i,
    positioned: true,
  },
  {
    name: "an unknown tag",
    setup: bottle("egress: !!python/object:os.system {}"),
    args: dryRun(),
    status: 2,
    message: /tag/i,
    positioned: true,
  },
  {
    name: "a custom tag",
    setup: bottle("egress: !secret {}"),
    args: dryRun(),
    status: 2,
    message: /tag/i,
    positioned: true,
  },
  {
    name: "a duplicate key",
    setup: bottle("supervise: true\nsupervise: false"),
    args: dryRun(),
    status: 2,
    message: /more than once|duplicate|unique/i,
    positioned: true,
  },
  {
    name: "a collection as a key",
    setup: bottle("? [a, b]\n: c"),
    args: dryRun(),
    status: 2,
    message: /key/i,
    positioned: true,
  },
  {
    name: "a block scalar header that quotes a secret",
    setup: bottle(`env:\n  X: >${SECRET}\n    text`),
    args: dryRun(),
    status: 2,
    message: /invalid YAML/,
    positioned: true,
  },
  {
    name: "a flow map left open",
    setup: bottle("egress: {allowlist: [a.com"),
    args: dryRun(),
    status: 2,
    message: /invalid YAML/,
    positioned: true,
  },
  {
    name: "a tab used for indentation",
    setup: bottle("egress:\n\tallowlist: []"),
    args: dryRun(),
    status: 2,
    message: /invalid YAML|tab/i,
    positioned: true,
  },
  {
    name: "a UTF-8 BOM before the fence is accepted",
    setup: (fixture) => {
      fixture.write("bottles/b.md", `\ufeff${manifest("supervise: false")}`);
      fixture.write("agents/a.md", `\ufeff${manifest("bottle: b")}`);
    },
    args: dryRun(),
    status: 0,
    message: /Bottle plan for agent a/,
  },
  {
    name: "a frontmatter that is a list",
    setup: bottle("- a\n- b"),
    args: dryRun(),
    status: 2,
    message: /must be a YAML mapping/,
    positioned: true,
  },
  {
    name: "a frontmatter that is a string",
    setup: bottle("just words"),
    args: dryRun(),
    status: 2,
    message: /must be a YAML mapping/,
    positioned: true,
  },
  {
    name: "no closing fence",
    setup: (fixture) => {
      fixture.write("bottles/b.md", "---\nsupervise: true\n");
      fixture.write("agents/a.md", manifest("bottle: b"));
    },
    args: dryRun(),
    status: 2,
    message: /never closed/,
    positioned: true,
  },
  {
    name: "no frontmatter at all",
    setup: (fixture) => fixture.write("agents/a.md", "hello\n"),
    args: dryRun(),
    status: 2,
    message: /missing YAML frontmatter/,
    positioned: true,
  },
  // --- keys that look like JavaScript internals ---
  ...["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"].map(
    (key): Case => ({
      name: `a top-level key \`${key}\``,
      setup: bottle(`${key}: 1`),
      args: dryRun(),
      status: 2,
      message: new RegExp(`unknown key \`${key}\``),
      positioned: true,
    }),
  ),
  ...["constructor", "__proto__", "toString"].map(
    (name): Case => ({
      name: `a bottle named by an agent as \`${name}\``,
      setup: agent(`bottle: ${name}`),
      args: dryRun(),
      status: 2,
      message: /does not exist|no bottle named|a bottle name is lowercase/,
    }),
  ),
  ...["constructor", "toString"].map(
    (name): Case => ({
      name: `an agent called \`${name}\``,
      args: dryRun(name),
      status: 2,
      message: /no agent named/,
    }),
  ),
  // --- wrong types: what is expected, never the value ---
  ...(
    [
      ["supervise", `"${SECRET}"`, /expected true or false, got text/],
      ["egress", `"${SECRET}"`, /expected a mapping/],
      ["egress:\n  allowlist", `"${SECRET}"`, /expected a list/],
      ["env", `[${SECRET}]`, /expected a mapping/],
      ["git", `"${SECRET}"`, /expected a list/],
      ["cred_proxy:\n  routes", `{a: ${SECRET}}`, /expected a list/],
    ] as const
  ).map(
    ([key, value, message]): Case => ({
      name: `\`${key.split(":")[0]}\` of the wrong type`,
      setup: bottle(`${key}: ${value}`),
      args: dryRun(),
      status: 2,
      message,
      positioned: true,
    }),
  ),
  // --- values refused where they cannot work, never echoed ---
  ...[
    `https://user:${SECRET}@api.example.com`,
    `https://api.example.com/?key=${SECRET}`,
    `https://api.example.com/#${SECRET}`,
  ].map(
    (upstream): Case => ({
      name: `a route upstream with userinfo, query or fragment (${upstream.slice(23, 28)})`,
      setup: bottle(
        `cred_proxy:\n  routes:\n    - {path: /x, upstream: "${upstream}", auth_scheme: Bearer, token_ref: T}`,
      ),
      env: { T: "t" },
      args: dryRun(),
      status: 2,
      message: /userinfo|query|fragment/,
      positioned: true,
    }),
  ),
  ...["010.0.0.0/8", "10.0.0.010/32", "0x0a.0.0.0/8"].map(
    (cidr): Case => ({
      name: `an ip_allowlist CIDR with leading zeros or hex (${cidr})`,
      setup: bottle(`egress:\n  ip_allowlist: ["${cidr}"]`),
      args: dryRun(),
      status: 2,
      message: /CIDR/,
      positioned: true,
    }),
  ),
  {
    name: "a host override to an IP with leading zeros",
    setup: bottle('egress:\n  hosts: {a.test: "010.1.1.1"}'),
    args: dryRun(),
    status: 2,
    message: /expected an IPv4/,
    positioned: true,
  },
  ...["/x/..", "/x/./y", "/.."].map(
    (path): Case => ({
      name: `a route path with dot segments (${path})`,
      setup: bottle(
        `cred_proxy:\n  routes:\n    - {path: "${path}", upstream: "https://a.com", auth_scheme: Bearer, token_ref: T}`,
      ),
      env: { T: "t" },
      args: dryRun(),
      status: 2,
      message: /route path/,
      positioned: true,
    }),
  ),
  {
    name: "an env name that is not a name",
    setup: bottle('env:\n  "A B": x'),
    args: dryRun(),
    status: 2,
    message: /environment variable name/,
    positioned: true,
  },
  {
    name: "an env value with a line break",
    setup: bottle(`env:\n  X: "line\\n${SECRET}"`),
    args: dryRun(),
    status: 2,
    message: /line break/,
    positioned: true,
  },
  {
    name: "a bad allowlist wildcard",
    setup: bottle('egress:\n  allowlist: ["*.com"]'),
    args: dryRun(),
    status: 2,
    message: /registrable domain/,
    positioned: true,
  },
  {
    name: "a huge number",
    setup: bottle("supervise: 1e999"),
    args: dryRun(),
    status: 2,
    message: /expected true or false/,
    positioned: true,
  },
  // --- the preview works without secrets; only a real start needs them ---
  {
    name: "--dry-run with a token variable unset shows it missing and exits 0",
    setup: bottle(
      "cred_proxy:\n  routes:\n    - {path: /x, upstream: 'https://a.com', auth_scheme: Bearer, token_ref: UNSET_TOKEN_VAR}",
    ),
    args: dryRun(),
    status: 0,
    message: /UNSET_TOKEN_VAR.*(missing|not set)/,
  },
  {
    name: "--dry-run with a ${HOST_VAR} unset shows it missing and exits 0",
    setup: bottle("env:\n  X: ${UNSET_HOST_VAR}"),
    args: dryRun(),
    status: 0,
    message: /UNSET_HOST_VAR.*(missing|not set)/,
  },
  {
    name: "a real start with a token variable unset stops with the fix",
    setup: bottle(
      "cred_proxy:\n  routes:\n    - {path: /x, upstream: 'https://a.com', auth_scheme: Bearer, token_ref: UNSET_TOKEN_VAR}",
    ),
    args: ["start", "a", "--yes", "--detach"],
    status: 2,
    message: /UNSET_TOKEN_VAR is not set in the host environment; export it/,
    positioned: true,
  },
  {
    name: "the default bottle without any Anthropic credential: dry-run shows what to export",
    args: dryRun("default"),
    status: 0,
    message: /CLAUDE_CODE_OAUTH_TOKEN.*missing|missing.*CLAUDE_CODE_OAUTH_TOKEN/,
  },
  // --- manifest files that are not files ---
  {
    name: "a manifest that is a FIFO",
    setup: (fixture) => {
      mkdirSync(join(fixture.home, "agents"), { recursive: true });
      execFileSync("mkfifo", [join(fixture.home, "agents", "a.md")]);
    },
    args: dryRun(),
    status: 2,
    message: /not a regular file/,
    positioned: true,
  },
  {
    name: "a manifest that is a directory",
    setup: (fixture) => mkdirSync(join(fixture.home, "agents", "a.md"), { recursive: true }),
    args: dryRun(),
    status: 2,
    message: /not a regular file/,
    positioned: true,
  },
  {
    name: "a manifest that links to /dev/zero",
    setup: (fixture) => {
      mkdirSync(join(fixture.home, "agents"), { recursive: true });
      symlinkSync("/dev/zero", join(fixture.home, "agents", "a.md"));
    },
    args: dryRun(),
    status: 2,
    message: /not a regular file/,
    positioned: true,
  },
  {
    name: "a dangling link",
    setup: (fixture) => {
      mkdirSync(join(fixture.home, "agents"), { recursive: true });
      symlinkSync(join(fixture.home, "nowhere.md"), join(fixture.home, "agents", "a.md"));
    },
    args: dryRun(),
    status: 2,
    message: /does not exist|dangling|cannot be read/,
    positioned: true,
  },
  {
    name: "a link loop",
    setup: (fixture) => {
      mkdirSync(join(fixture.home, "agents"), { recursive: true });
      symlinkSync(join(fixture.home, "agents", "b.md"), join(fixture.home, "agents", "a.md"));
      symlinkSync(join(fixture.home, "agents", "a.md"), join(fixture.home, "agents", "b.md"));
    },
    args: dryRun(),
    status: 2,
    message: /loop|cannot be read/,
    positioned: true,
  },
  {
    name: "a manifest over the size limit",
    setup: (fixture) =>
      fixture.write("agents/a.md", manifest("bottle: default", "x".repeat(2 * 1024 * 1024))),
    args: dryRun(),
    status: 2,
    message: /larger than/,
    positioned: true,
  },
  {
    name: "binary garbage",
    setup: (fixture) => {
      mkdirSync(join(fixture.home, "agents"), { recursive: true });
      writeFileSync(join(fixture.home, "agents", "a.md"), Buffer.from([0xff, 0xfe, 0, 1, 2, 0x80, 0x81]));
    },
    args: dryRun(),
    status: 2,
    message: /not text|missing YAML frontmatter/,
    positioned: true,
  },
  {
    name: "an unreadable manifest",
    setup: (fixture) => {
      const file = fixture.write("agents/a.md", manifest("bottle: default"));
      chmodSync(file, 0);
    },
    env: process.getuid?.() === 0 ? { CB_SKIP: "root reads everything" } : {},
    args: dryRun(),
    status: process.getuid?.() === 0 ? 0 : 2,
    message: process.getuid?.() === 0 ? /Bottle plan/ : /cannot be read/,
  },
  // --- several manifests: one broken one stops nobody else ---
  {
    name: "list keeps going past a broken manifest and marks it",
    setup: (fixture) => {
      fixture.write("agents/good.md", manifest("bottle: default"));
      fixture.write("agents/bad.md", manifest("egress: [unclosed"));
      mkdirSync(join(fixture.home, "agents", "dir.md"), { recursive: true });
    },
    args: ["list"],
    status: 0,
    message: /dir\.md:1:1: not a regular file[\s\S]*good +home/,
  },
  {
    name: "an agent defined in home and project: other agents still start",
    setup: (fixture) => {
      fixture.write("agents/twice.md", manifest("bottle: default"));
      fixture.write(
        join(fixture.project, ".claude-bottle", "agents", "twice.md"),
        manifest("bottle: default"),
      );
      fixture.write("agents/other.md", manifest("bottle: default"));
    },
    args: ["start", "other", "--dry-run"],
    env: { CLAUDE_CODE_OAUTH_TOKEN: "t" },
    status: 0,
    message: /Bottle plan for agent other/,
  },
  {
    name: "the duplicated agent itself names both files",
    setup: (fixture) => {
      fixture.write("agents/twice.md", manifest("bottle: default"));
      fixture.write(
        join(fixture.project, ".claude-bottle", "agents", "twice.md"),
        manifest("bottle: default"),
      );
    },
    args: ["start", "twice", "--dry-run"],
    status: 2,
    message: /defined twice/,
  },
  {
    name: "a project agent file with an invalid name is skipped with a warning",
    setup: projectAgent("Bad Name.md", manifest("bottle: default")),
    args: ["list"],
    status: 0,
    message: /ignoring .*Bad Name\.md/,
  },
  {
    name: "init writes a default bottle that works with either Anthropic credential",
    args: ["init"],
    status: 0,
    message: /wrote .*bottles\/default\.md/,
  },
  {
    name: "--no-color wins over FORCE_COLOR",
    args: ["start", "default", "--dry-run", "--no-color"],
    env: { FORCE_COLOR: "1", NO_COLOR: undefined, CLAUDE_CODE_OAUTH_TOKEN: "t" },
    status: 0,
    message: /^Bottle plan for agent default\n/,
  },
  // --- flags and commands ---
  { name: "an unknown command", args: ["launch"], status: 2, message: /unknown command/ },
  {
    name: "help for an unknown command",
    args: ["help", "bogus"],
    status: 2,
    message: /unknown command|no help/,
  },
  { name: "an unknown option", args: ["list", "--bogus"], status: 2, message: /unknown option/ },
  {
    name: "a bad --format",
    args: ["start", "default", "--dry-run", "--format", "xml"],
    status: 2,
    message: /--format/,
  },
  { name: "list --format bogus", args: ["list", "--format", "yaml"], status: 2, message: /--format/ },
  {
    name: "scan --format bogus",
    args: ["scan", "--format", "xml"],
    status: 2,
    message: /--format must be text or json/,
  },
  {
    name: "list --format json for scripts",
    setup: (fixture) => fixture.write("agents/x.md", manifest("bottle: default", "Do it.")),
    args: ["list", "--format", "json"],
    status: 0,
    message: /"name":\s*"x"/,
  },
  {
    name: "status of no bottle, with no engine",
    args: ["status", "nope-00000000"],
    status: 1,
    message: /Docker engine/,
  },
  { name: "stop with no engine", args: ["stop", "nope-00000000"], status: 1, message: /Docker engine/ },
  { name: "cleanup with no engine", args: ["cleanup"], status: 1, message: /Docker engine/ },
  {
    name: "dashboard --once with no engine",
    args: ["dashboard", "--once"],
    status: 1,
    message: /Docker engine/,
  },
  {
    name: "an unwritable CLAUDE_BOTTLE_HOME",
    args: ["init"],
    env: { CLAUDE_BOTTLE_HOME: "/proc/claude-bottle-home" },
    status: 2,
    message: /CLAUDE_BOTTLE_HOME|cannot write|cannot create/,
  },
  // --- scan ---
  {
    name: "scan - reads stdin",
    args: ["scan", "-"],
    stdin: `aws = "AKIAQ7XW4LHZ2KD5N3PR"\n`,
    status: 3,
    message: /aws-access-key-id/,
  },
  {
    name: "scan of an endless stdin is capped",
    args: ["scan"],
    stdin: "zero",
    status: 4,
    message: /stdin.*(larger|over|limit)/,
  },
  {
    name: "scan of a file given as a link is read",
    setup: (fixture) => {
      const real = fixture.write("real.txt", `aws = "AKIAQ7XW4LHZ2KD5N3PR"\n`);
      symlinkSync(real, join(fixture.project, "link.txt"));
    },
    args: ["scan", "link.txt"],
    status: 3,
    message: /link\.txt:1:\d+\s+aws-access-key-id/,
  },
  {
    name: "scan of a missing file is an error, the rest is still scanned",
    setup: (fixture) => fixture.write(join(fixture.project, "leak.txt"), `aws = "AKIAQ7XW4LHZ2KD5N3PR"\n`),
    args: ["scan", "missing.txt", "leak.txt"],
    status: 3,
    message: /missing\.txt[\s\S]*leak\.txt:1|leak\.txt:1[\s\S]*missing\.txt/,
  },
  {
    name: "scan of a FIFO is reported, not waited on",
    setup: (fixture) => execFileSync("mkfifo", [join(fixture.project, "pipe")]),
    args: ["scan", "pipe"],
    status: 4,
    message: /pipe: not a regular file/,
  },
  {
    name: "scan of /dev/zero is reported, not read forever",
    args: ["scan", "/dev/zero"],
    status: 4,
    message: /\/dev\/zero: not a regular file/,
  },
  {
    name: "scan counts what it skipped",
    setup: (fixture) => {
      fixture.write(join(fixture.project, "src", "a.txt"), "clean\n");
      writeFileSync(join(fixture.project, "src", "b.bin"), Buffer.from([0, 1, 2, 3, 0]));
      fixture.write(join(fixture.project, "src", ".git", "HEAD"), "ref: refs/heads/main\n");
      symlinkSync("/etc/passwd", join(fixture.project, "src", "link"));
    },
    args: ["scan", "src"],
    status: 0,
    message: /scanned 1 file.*skipped.*binary.*\.git.*link/s,
  },
  // --- the working directory is gone ---
  {
    name: "a deleted working directory",
    deleteCwd: true,
    args: ["list"],
    status: 2,
    message: /the current directory no longer exists/,
  },
];

describe("bad input gets one clear answer", () => {
  it(`has at least 60 cases (${cases.length})`, () => assert.ok(cases.length >= 60));
  for (const item of cases) {
    it(item.name, { timeout: 30_000 }, async () => {
      using fixture = tempHome();
      item.setup?.(fixture);
      const result = await run(fixture, item);
      const output = `${result.stdout}${result.stderr}`;
      assert.equal(result.status, item.status, `exit code\n${output.slice(0, 2000)}`);
      assert.match(output, item.message, output.slice(0, 2000));
      assert.doesNotMatch(output, STACK, "a stack trace or internal error");
      assert.ok(!output.includes(SECRET), "a value meant to stay secret was printed");
      assert.doesNotMatch(result.stderr, /\(node:\d+\) \[?\w*Warning/, "a Node warning line");
      if (item.positioned) assert.match(output, /\.md:\d+:\d+: /, "a file:line:column position");
    });
  }
});
