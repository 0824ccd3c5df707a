import { isAbsolute, join } from "node:path";
import { CRED_PROXY } from "../contracts/cred-proxy.ts";
import { gateUrl } from "../contracts/git-gate.ts";
import { parseSshGitUrl } from "../lib/git-url.ts";
import type { AuthScheme, RouteRule, ServerTool } from "../lib/route-rules.ts";
import { classifyEnvValue, hasLineBreak } from "../manifest/env-value.ts";
import { ManifestError, type SourcePosition } from "../manifest/errors.ts";
import type { AgentManifest, BottleManifest, ManifestOrigin } from "../manifest/loader.ts";
import type { CredProxyRole, IsolationSetting } from "../manifest/schema.ts";
import { Secret } from "./secret.ts";

/** Hosts Claude Code itself needs; always on a bottle's allowlist. */
export const CLAUDE_CODE_HOSTS = ["api.anthropic.com", "claude.ai", "console.anthropic.com"] as const;
/** Tunnelled without interception: LLM request bodies legitimately trip DLP. */
const PASSTHROUGH_HOSTS = ["api.anthropic.com"] as const;

export const CRED_PROXY_URL = `http://${CRED_PROXY.alias}:${CRED_PROXY.port}`;

export type PlannedEnv =
  | { name: string; kind: "literal"; value: string }
  | { name: string; kind: "host"; variable: string; value: Secret }
  | { name: string; kind: "prompt"; question: string };

export interface PlannedGitRemote {
  name: string;
  upstream: string;
  /** What the agent's ~/.gitconfig rewrites the upstream URL to. */
  gateUrl: string;
  user: string;
  host: string;
  port: number;
  path: string;
  identityFile: string;
  knownHostKey: string;
  extraHosts: Record<string, string>;
}

export interface PlannedRoute {
  path: string;
  upstream: string;
  authScheme: AuthScheme;
  tokenRef: string;
  /** The cred-proxy environment variable holding the token; routes sharing a token_ref share it. */
  slot: string;
  roles: CredProxyRole[];
  /** Declared rules (complete), or undefined for the roles' defaults. */
  allow: RouteRule[] | undefined;
  serverTools: ServerTool[];
}

interface TokenSlot {
  slot: string;
  tokenRef: string;
  /** Host of every route using this token: the only places egress lets it go. */
  hosts: string[];
  value: Secret;
}

export interface BottlePlan {
  agent: {
    name: string;
    file: string;
    origin: ManifestOrigin;
    prompt: string;
    skills: { name: string; source: string }[];
  };
  bottle: { name: string; file: string; origin: ManifestOrigin };
  env: PlannedEnv[];
  egress: {
    allowlist: string[];
    passthrough: string[];
    /**
     * When set, passthrough hosts are tunnelled only for these clients and inspected for anyone
     * else: cred-proxy, when it carries the Anthropic route, so the agent's own connections to the
     * API are scanned (a key that is not the bottle's cannot leave in their headers).
     */
    passthroughClients: string[];
    tlsInterception: boolean;
    /** The bottle's internal network CIDR is added at launch, when Docker has assigned it. */
    ipAllowlist: string[];
    hosts: Record<string, string>;
    /** CA certificate files on the host the egress proxy trusts for upstreams (mounted read-only). */
    upstreamCa: string[];
  };
  gitRemotes: PlannedGitRemote[];
  credProxy: { routes: PlannedRoute[]; slots: TokenSlot[] };
  supervise: { enabled: boolean };
  /** The bottle's `isolation` setting; which runtime it gives is decided at launch (isolation.ts). */
  isolation: IsolationSetting;
  /** What the bottle may take of the host (bytes for sizes). */
  limits: {
    cpus: number;
    memoryBytes: number;
    processes: number;
    pushBytes: number;
    mirrorBytes: number;
    auditBytes: number;
    /** A capability build's container, and the most of the agent's home it carries over. */
    build: { cpus: number; memoryBytes: number; minutes: number; homeBytes: number };
    /** The agent's writable layer; absent: not limited (backend/docker/disk-limit.ts says where it can be). */
    diskBytes?: number;
  };
  /**
   * Host variables the plan reads that are not set, each with what to do: only in a preview
   * (`allowMissing`); a real start refuses to plan without them.
   */
  missing: string[];
}

export interface PlanInput {
  agent: AgentManifest;
  bottle: BottleManifest;
  /** The host environment: `${VAR}` values and token_refs are read from it. */
  env: NodeJS.ProcessEnv;
  /** Skill name → directory on the host holding it (resolved by the caller). */
  skills: Record<string, string>;
  /** The host's home directory, for `~/` in IdentityFile. */
  homeDir: string;
  /** A preview (`--dry-run`): a missing host variable is listed in `missing`, not an error. */
  allowMissing?: boolean;
}

/** Builds the whole plan of a bottle from its manifests and the host environment. Pure. */
export function buildPlan(input: PlanInput): BottlePlan {
  const { agent, bottle } = input;
  const missing: string[] = [];
  const routes = planRoutes(input, missing);
  const gitRemotes = bottle.data.git.map((remote, index): PlannedGitRemote => {
    const url = parseSshGitUrl(remote.Upstream)!;
    return {
      name: remote.Name,
      upstream: remote.Upstream,
      gateUrl: gateUrl(remote.Name),
      ...url,
      identityFile: expandHome(remote.IdentityFile, input.homeDir, () =>
        bottle.locate(["git", index, "IdentityFile"]),
      ),
      knownHostKey: remote.KnownHostKey,
      extraHosts: remote.ExtraHosts ?? {},
    };
  });
  return {
    agent: {
      name: agent.name,
      file: agent.file,
      origin: agent.origin,
      prompt: agent.prompt,
      skills: agent.data.skills.map((name) => ({ name, source: input.skills[name]! })),
    },
    bottle: { name: bottle.name, file: bottle.file, origin: bottle.origin },
    env: planEnv(input, missing),
    egress: {
      allowlist: unique([
        ...CLAUDE_CODE_HOSTS,
        ...bottle.data.egress.allowlist,
        ...routes.routes.map((route) => hostOf(route.upstream)),
      ]),
      passthrough: [...PASSTHROUGH_HOSTS],
      passthroughClients: routes.routes.some((route) => route.roles.includes("anthropic-base-url"))
        ? [CRED_PROXY.alias]
        : [],
      tlsInterception: true,
      ipAllowlist: [...bottle.data.egress.ip_allowlist],
      hosts: { ...bottle.data.egress.hosts },
      upstreamCa: bottle.data.egress.upstream_ca.map((path, index) =>
        expandHome(path, input.homeDir, () => bottle.locate(["egress", "upstream_ca", index]), "upstream_ca"),
      ),
    },
    gitRemotes,
    credProxy: routes,
    supervise: { enabled: bottle.data.supervise },
    isolation: bottle.data.isolation,
    limits: {
      cpus: bottle.data.limits.cpus,
      memoryBytes: bottle.data.limits.memory,
      processes: bottle.data.limits.processes,
      pushBytes: bottle.data.limits.push,
      mirrorBytes: bottle.data.limits.mirror,
      ...(bottle.data.limits.disk === undefined ? {} : { diskBytes: bottle.data.limits.disk }),
      auditBytes: bottle.data.limits.audit,
      build: {
        cpus: bottle.data.limits.build.cpus,
        memoryBytes: bottle.data.limits.build.memory,
        minutes: bottle.data.limits.build.minutes,
        homeBytes: bottle.data.limits.build.home,
      },
    },
    missing,
  };
}

/** Bottle env first, the agent's own env overrides it. */
function planEnv({ agent, bottle, env, allowMissing }: PlanInput, missing: string[]): PlannedEnv[] {
  const merged = new Map<string, { value: string; owner: AgentManifest | BottleManifest }>();
  for (const [name, value] of Object.entries(bottle.data.env)) merged.set(name, { value, owner: bottle });
  for (const [name, value] of Object.entries(agent.data.env)) merged.set(name, { value, owner: agent });
  return [...merged.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { value, owner }]): PlannedEnv => {
      const source = classifyEnvValue(value);
      if (source.kind === "literal") return { name, kind: "literal", value: source.value };
      if (source.kind === "prompt") return { name, kind: "prompt", question: source.question };
      const hostValue = env[source.variable];
      if (hostValue === undefined && allowMissing === true) {
        missing.push(`${source.variable} (read by env.${name}): export it before starting`);
        return { name, kind: "host", variable: source.variable, value: new Secret("") };
      }
      if (hostValue === undefined) {
        throw new ManifestError(
          owner.locate(["env", name]),
          `\`env.${name}\` reads host variable ${source.variable}, which is not set; export it before starting, or remove the entry`,
        );
      }
      if (hasLineBreak(hostValue)) {
        throw new ManifestError(
          owner.locate(["env", name]),
          `\`env.${name}\` reads host variable ${source.variable}, whose value has a line break or NUL, which a container's environment cannot carry`,
        );
      }
      return { name, kind: "host", variable: source.variable, value: new Secret(hostValue) };
    });
}

function planRoutes({ bottle, env, allowMissing }: PlanInput, missing: string[]): BottlePlan["credProxy"] {
  const slots = new Map<string, TokenSlot>();
  const routes = bottle.data.cred_proxy.routes.map((route, index): PlannedRoute => {
    // The first variable of the list that is set (a list lets one bottle take either credential).
    const tokenRef = route.token_ref.find((ref) => env[ref]) ?? route.token_ref[0]!;
    let slot = slots.get(tokenRef);
    if (!slot) {
      const value = env[tokenRef];
      const names = route.token_ref.join(" or ");
      const hint = route.role.includes("anthropic-base-url")
        ? " (for Claude: run `claude setup-token` and export CLAUDE_CODE_OAUTH_TOKEN, or export ANTHROPIC_API_KEY)"
        : "";
      if (!value && allowMissing === true)
        missing.push(`${names} (token of route ${route.path}): export it before starting${hint}`);
      else if (!value) {
        throw new ManifestError(
          bottle.locate(["cred_proxy", "routes", index, "token_ref"]),
          `token_ref ${names} is not set in the host environment; export it before starting${hint}`,
        );
      }
      slot = {
        slot: `CRED_PROXY_TOKEN_${slots.size}`,
        tokenRef,
        hosts: [],
        value: new Secret(value ?? ""),
      };
      slots.set(tokenRef, slot);
    }
    const host = hostOf(route.upstream);
    if (!slot.hosts.includes(host)) slot.hosts.push(host);
    return {
      path: route.path,
      upstream: route.upstream.replace(/\/+$/, ""),
      authScheme: route.auth_scheme,
      tokenRef,
      slot: slot.slot,
      roles: route.role,
      allow: route.allow,
      serverTools: route.server_tools ?? [],
    };
  });
  return { routes, slots: [...slots.values()] };
}

/** `host` or `host:port` of an https URL, in the allowlist's syntax. */
export function hostOf(url: string): string {
  const parsed = new URL(url);
  return parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname;
}

function expandHome(
  path: string,
  homeDir: string,
  where: () => SourcePosition,
  key = "IdentityFile",
): string {
  const expanded = path === "~" ? homeDir : path.startsWith("~/") ? join(homeDir, path.slice(2)) : path;
  if (!isAbsolute(expanded))
    throw new ManifestError(where(), `${key} must be an absolute path or start with \`~/\``);
  return expanded;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
