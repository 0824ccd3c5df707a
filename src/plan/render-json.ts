import type { BottlePlan } from "./bottle-plan.ts";
import { CRED_PROXY_URL } from "./bottle-plan.ts";

/** Version of the JSON shape; bumped on any breaking change of its keys (docs/plan-json.md). */
const PLAN_JSON_VERSION = 1;

/**
 * The plan as stable, documented JSON (`start --dry-run --format json`). Names and sources only:
 * no env value and no token value ever appears, not even literals, which may be secrets too.
 */
export function planToJson(plan: BottlePlan): Record<string, unknown> {
  return {
    version: PLAN_JSON_VERSION,
    agent: {
      name: plan.agent.name,
      file: plan.agent.file,
      origin: plan.agent.origin,
      prompt_first_line: firstLine(plan.agent.prompt),
      skills: plan.agent.skills.map((skill) => skill.name),
    },
    bottle: { name: plan.bottle.name, file: plan.bottle.file, origin: plan.bottle.origin },
    env_names: plan.env.map((entry) => entry.name),
    env: plan.env.map((entry) => ({
      name: entry.name,
      source: entry.kind,
      ...(entry.kind === "host" ? { host_variable: entry.variable } : {}),
      ...(entry.kind === "prompt" ? { question: entry.question } : {}),
    })),
    egress: {
      allowlist: plan.egress.allowlist,
      passthrough: plan.egress.passthrough,
      passthrough_clients: plan.egress.passthroughClients,
      tls_interception: plan.egress.tlsInterception,
      ip_allowlist: plan.egress.ipAllowlist,
      hosts: plan.egress.hosts,
      upstream_ca: plan.egress.upstreamCa,
    },
    git_remotes: plan.gitRemotes.map((remote) => ({
      name: remote.name,
      upstream: remote.upstream,
      gate_url: remote.gateUrl,
    })),
    git_gate: {
      enabled: plan.gitRemotes.length > 0,
      forwards: plan.gitRemotes.map((remote) => ({
        name: remote.name,
        user: remote.user,
        host: remote.host,
        port: remote.port,
        path: remote.path,
        identity_file: remote.identityFile,
        known_host_key: remote.knownHostKey,
        extra_hosts: remote.extraHosts,
      })),
    },
    cred_proxy: {
      enabled: plan.credProxy.routes.length > 0,
      url: CRED_PROXY_URL,
      routes: plan.credProxy.routes.map((route) => ({
        path: route.path,
        upstream: route.upstream,
        auth_scheme: route.authScheme,
        token_ref: route.tokenRef,
        slot: route.slot,
        roles: route.roles,
      })),
    },
    supervise: { enabled: plan.supervise.enabled },
    isolation: plan.isolation,
    limits: {
      cpus: plan.limits.cpus,
      memory_bytes: plan.limits.memoryBytes,
      processes: plan.limits.processes,
      push_bytes: plan.limits.pushBytes,
      mirror_bytes: plan.limits.mirrorBytes,
      disk_bytes: plan.limits.diskBytes ?? null,
      audit_bytes: plan.limits.auditBytes,
      build: {
        cpus: plan.limits.build.cpus,
        memory_bytes: plan.limits.build.memoryBytes,
        minutes: plan.limits.build.minutes,
        home_bytes: plan.limits.build.homeBytes,
      },
    },
    missing: [...plan.missing],
  };
}

export function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}
