import ipaddr from "ipaddr.js";
import { z } from "zod";
import { ROUTE_PATH } from "../contracts/cred-proxy.ts";
import { parseSshGitUrl } from "../lib/git-url.ts";
import { parseHostPattern } from "../lib/host-pattern.ts";
import { AUTH_SCHEMES, routeRuleSchema, SERVER_TOOLS } from "../lib/route-rules.ts";
import { hasLineBreak } from "./env-value.ts";

/** The bottle's `isolation` setting (docs/isolation.md; src/backend/docker/isolation.ts). */
const ISOLATION_SETTINGS = ["auto", "gvisor", "runc"] as const;
export type IsolationSetting = (typeof ISOLATION_SETTINGS)[number];

/** A file name is the manifest's key. */
export const MANIFEST_NAME = /^[a-z][a-z0-9-]*$/;

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size: bytes, or a number with k, m or g (binary units), e.g. `512m`. */
const size = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  const bytes = match ? Math.floor(Number(match[1]) * (SIZE_UNITS[(match[2] ?? "").toLowerCase()] ?? 1)) : 0;
  if (bytes > 0) return bytes;
  ctx.addIssue({ code: "custom", message: "expected a size such as 512m, 4g or a number of bytes" });
  return z.NEVER;
});

/** The bottle's `limits` (docs/resources.md): what one bottle may take of the host. */
const LIMIT_DEFAULTS = {
  cpus: 2,
  memory: 4 * 1024 ** 3,
  processes: 1024,
  push: 1024 ** 3,
  mirror: 8 * 1024 ** 3,
  build: { cpus: 1, memory: 2 * 1024 ** 3, minutes: 20, home: 1024 ** 3 },
  audit: 256 * 1024 ** 2,
} as const;

const limitsSchema = z
  .strictObject({
    cpus: z
      .number()
      .min(0.1)
      .max(256)
      .default(LIMIT_DEFAULTS.cpus)
      .describe("CPUs the agent may use (each sidecar: 1)"),
    memory: size
      .refine((bytes) => bytes >= 256 * 1024 ** 2, "at least 256m")
      .default(LIMIT_DEFAULTS.memory)
      .describe("The agent's memory, e.g. 4g"),
    processes: z
      .number()
      .int()
      .min(64)
      .max(65536)
      .default(LIMIT_DEFAULTS.processes)
      .describe("The agent's processes"),
    push: size
      .default(LIMIT_DEFAULTS.push)
      .describe("The largest pack a push through git-gate may send, e.g. 1g"),
    disk: size
      .refine((bytes) => bytes >= 1024 ** 3, "at least 1g")
      .optional()
      .describe("The agent's disk (its writable layer), e.g. 20g; needs an engine that can cap it"),
    build: z
      .strictObject({
        cpus: z.number().min(0.1).max(256).default(LIMIT_DEFAULTS.build.cpus),
        memory: size
          .refine((bytes) => bytes >= 256 * 1024 ** 2, "at least 256m")
          .default(LIMIT_DEFAULTS.build.memory),
        minutes: z.number().int().min(1).max(1440).default(LIMIT_DEFAULTS.build.minutes),
        home: size.default(LIMIT_DEFAULTS.build.home),
      })
      .prefault({})
      .describe(
        "A capability build (supervise): its container's CPUs and memory, how long it may run, and the most of the agent's home it carries to the new agent",
      ),
    mirror: size
      .default(LIMIT_DEFAULTS.mirror)
      .describe("The most git-gate's copy of each repository may hold before it refuses pushes, e.g. 8g"),
    audit: size
      .refine((bytes) => bytes >= 64 * 1024, "at least 64k")
      .default(LIMIT_DEFAULTS.audit)
      .describe("Each sidecar's audit log, across its rotation; the oldest lines are dropped and counted"),
  })
  .prefault({});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*$`);

/** Names the bottle sets itself; a manifest that set them would silently break the bottle. */
const RESERVED_ENV = new Set([
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "ANTHROPIC_BASE_URL",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "REQUESTS_CA_BUNDLE",
  "GIT_SSL_CAINFO",
]);

const envValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform(String)
  .refine(
    (value) => !hasLineBreak(value),
    "a container's environment cannot carry a line break or NUL; use one line (a block scalar `|` keeps its line breaks)",
  )
  .describe(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: documents the manifest's own ${VAR} syntax
    "A literal, `${HOST_VAR}` (copied from the host environment at launch), or `?prompt text` (asked at launch).",
  );

const envMap = z
  .record(
    z
      .string()
      .regex(ENV_NAME, "an environment variable name is letters, digits and `_`, not starting with a digit")
      .refine(
        (name) => !RESERVED_ENV.has(name),
        "this variable is set by the bottle itself and cannot be overridden",
      ),
    envValue,
  )
  .describe("Environment variables of the agent container.");

const hostName = z.string().toLowerCase().regex(HOST, "expected a host name such as `github.com`");

/**
 * An IP address as people write it: IPv4 as four decimal numbers without leading zeros (ipaddr.js
 * would read `010.0.0.1` as octal, i.e. 8.0.0.1, and show the user what they did not mean).
 */
function plainIp(value: string): boolean {
  if (value.includes(":")) return ipaddr.IPv6.isValid(value);
  return (
    /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/.test(value) && ipaddr.IPv4.isValidFourPartDecimal(value)
  );
}

const ipAddress = z
  .string()
  .refine(plainIp, "expected an IPv4 (four decimal numbers, no leading zeros) or IPv6 address");

const gitRemoteSchema = z
  .strictObject({
    Name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a remote Name is letters, digits, `.`, `_` and `-`")
      .describe("The remote's name; the agent fetches and pushes git://git-gate/<Name>.git."),
    Upstream: z
      .string()
      .refine(
        (url) => parseSshGitUrl(url) !== undefined,
        "expected an SSH URL: `git@host:owner/repo.git` or `ssh://git@host:port/owner/repo.git` (HTTPS remotes go through cred_proxy)",
      )
      .describe(
        "SSH URL of the upstream repository: `git@host:owner/repo.git` or `ssh://git@host:port/owner/repo.git`.",
      ),
    IdentityFile: z
      .string()
      .min(1)
      .describe("Private key on the host that git-gate uses to push upstream; it never enters the agent."),
    KnownHostKey: z
      .string()
      .regex(
        /^(?:\S+ )?(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: .*)?$/,
        "expected an SSH public host key such as `ssh-ed25519 AAAA...` (a known_hosts line also works)",
      )
      .describe("The upstream's SSH host key, pinned: no key, no forwarding (no trust on first use)."),
    ExtraHosts: z
      .record(hostName, ipAddress)
      .optional()
      .describe("Host name → IP entries added to git-gate's resolution."),
  })
  .describe("A git remote reached through git-gate.");

const CRED_PROXY_ROLES = ["anthropic-base-url", "npm-registry", "git-insteadof", "tea-login"] as const;

const credProxyRouteSchema = z
  .strictObject({
    path: z
      .string()
      .regex(ROUTE_PATH, "a route path looks like `/github` (no trailing slash)")
      .refine(
        (path) => !path.split("/").some((segment) => segment === "." || segment === ".."),
        "a route path has no `.` or `..` segments",
      )
      .describe("Path prefix on http://cred-proxy:9099 that selects this route."),
    upstream: z
      .url({
        protocol: /^https$/,
        hostname: z.regexes.domain,
        error: "expected an https:// URL such as `https://api.github.com`",
      })
      .refine((url) => {
        const parsed = new URL(url);
        return parsed.username === "" && parsed.password === "" && !/[?#]/.test(url);
      }, "an upstream URL has no userinfo (`user:pass@`), query or fragment: the token is injected by cred-proxy, and the rest of the path comes from the request")
      .describe("HTTPS URL the route forwards to (through the egress proxy)."),
    auth_scheme: z
      .enum(AUTH_SCHEMES)
      .describe(
        "How the token is sent: `Authorization: Bearer`, `Authorization: token`, `x-api-key`, or `anthropic` (x-api-key for an API key, Bearer for an OAuth token).",
      ),
    token_ref: z
      .union([
        z.string().regex(ENV_NAME, "token_ref names a host environment variable"),
        z.array(z.string().regex(ENV_NAME, "token_ref names a host environment variable")).min(1),
      ])
      .transform((ref) => (Array.isArray(ref) ? ref : [ref]))
      .describe(
        "Host environment variable holding the token (or a list: the first one set is used); its value reaches only the cred-proxy container.",
      ),
    role: z
      .union([z.enum(CRED_PROXY_ROLES), z.array(z.enum(CRED_PROXY_ROLES))])
      .optional()
      .transform((role) => (role === undefined ? [] : Array.isArray(role) ? role : [role]))
      .describe("What the agent is configured to use this route for."),
    allow: z
      .array(routeRuleSchema)
      .optional()
      .describe(
        "Methods and paths the route forwards (complete: replaces the roles' defaults of reads plus a model request or a git fetch).",
      ),
    server_tools: z
      .array(z.enum(SERVER_TOOLS))
      .optional()
      .describe(
        "Anthropic server-side features a Messages request may use on this route (refused otherwise).",
      ),
  })
  .describe("A cred-proxy route.");

const cidr = z.string().refine((value) => {
  if (!plainIp(value.split("/")[0] ?? "")) return false;
  try {
    const [, prefix] = ipaddr.parseCIDR(value);
    return prefix > 0;
  } catch {
    return false;
  }
}, "expected a CIDR such as `10.1.2.0/24` (a /0 would switch SSRF protection off)");

const egressSchema = z
  .strictObject({
    allowlist: z
      .array(
        z.string().superRefine((entry, ctx) => {
          const parsed = parseHostPattern(entry);
          if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
        }),
      )
      .default([])
      .describe("Hosts the bottle may reach: `host`, `*.domain` (subdomains only) or either with `:port`."),
    ip_allowlist: z
      .array(cidr)
      .default([])
      .describe("CIDRs the egress proxy may reach although they are private (e.g. an internal registry)."),
    hosts: z
      .record(hostName, z.union([ipAddress, z.literal("host-gateway")]))
      .default({})
      .describe("Name → IP (or `host-gateway`) entries added to the egress proxy's resolution."),
    upstream_ca: z
      .array(
        z
          .string()
          .refine(
            (path) => path.startsWith("/") || path.startsWith("~/"),
            "expected an absolute path on the host or one starting with `~/`",
          ),
      )
      .default([])
      .describe(
        "PEM CA certificates on the host that the egress proxy trusts for upstreams, beside the system roots (e.g. an internal registry's private CA).",
      ),
  })
  .describe("What the bottle may reach through the egress proxy.");

export const bottleSchema = z
  .strictObject({
    description: z.string().optional().describe("One line shown by `claude-bottle list`."),
    env: envMap.default({}),
    git: z.array(gitRemoteSchema).default([]).describe("Git remotes reached through git-gate."),
    cred_proxy: z
      .strictObject({ routes: z.array(credProxyRouteSchema).default([]) })
      .default({ routes: [] })
      .describe("Routes of the credential proxy: the agent uses APIs, the proxy holds the tokens."),
    egress: egressSchema.default({ allowlist: [], ip_allowlist: [], hosts: {}, upstream_ca: [] }),
    supervise: z
      .boolean()
      .default(false)
      .describe("Start the supervise sidecar: the agent may ask a human for more access."),
    isolation: z
      .enum(ISOLATION_SETTINGS)
      .default("auto")
      .describe(
        "The agent's kernel boundary: `gvisor` requires gVisor (runsc), `runc` runs without it, `auto` uses gVisor when the engine has it (docs/isolation.md).",
      ),
    limits: limitsSchema.describe("What one bottle may take of the host (docs/resources.md)."),
  })
  .superRefine((bottle, ctx) => {
    const names = new Map<string, number>();
    bottle.git.forEach((remote, index) => {
      const earlier = names.get(remote.Name);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["git", index, "Name"],
          message: `duplicate git Name (also at git[${earlier}]); each remote needs its own Name`,
        });
      }
      names.set(remote.Name, index);
    });
    const paths = new Map<string, number>();
    const single = new Map<string, number>();
    bottle.cred_proxy.routes.forEach((route, index) => {
      const earlier = paths.get(route.path);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["cred_proxy", "routes", index, "path"],
          message: `duplicate route path (also at routes[${earlier}])`,
        });
      }
      paths.set(route.path, index);
      for (const role of route.role) {
        if (role !== "anthropic-base-url" && role !== "npm-registry") continue;
        const first = single.get(role);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["cred_proxy", "routes", index, "role"],
            message: `at most one route may have role ${role} (also at routes[${first}])`,
          });
        }
        single.set(role, index);
      }
    });
  })
  .describe("A bottle: the sandbox an agent runs in. Lives only in ~/.claude-bottle/bottles/.");

export const agentSchema = z
  .strictObject({
    description: z.string().optional().describe("One line shown by `claude-bottle list`."),
    bottle: z
      .string()
      .regex(MANIFEST_NAME, "a bottle name is lowercase letters, digits and `-`")
      .default("default")
      .describe("The bottle this agent runs in."),
    skills: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a skill name is a directory name"))
      .default([])
      .describe("Claude Code skills copied into the agent, by directory name."),
    env: envMap.default({}),
  })
  .describe("An agent: a prompt (the Markdown body), its skills and the bottle it runs in.");

export type BottleManifestData = z.output<typeof bottleSchema>;
export type AgentManifestData = z.output<typeof agentSchema>;
export type CredProxyRole = (typeof CRED_PROXY_ROLES)[number];

/** Keys that existed once and were replaced; using them fails with a pointer to the replacement. */
export const REMOVED_KEYS: Record<string, string> = {
  ssh: "`ssh` was removed: declare git remotes under `git:` (pushed through git-gate, keys stay on the host)",
  tokens:
    "`tokens` was removed: declare `cred_proxy.routes` with a `token_ref` (the agent never holds the token)",
};

/** JSON Schema of both manifest kinds, for editors. */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://claude-bottle.dev/schema/manifests.json",
    title: "claude-bottle manifests (YAML frontmatter)",
    $defs: {
      bottle: z.toJSONSchema(bottleSchema, { io: "input" }),
      agent: z.toJSONSchema(agentSchema, { io: "input" }),
    },
  };
}
