import pc from "picocolors";
import { formatBytes } from "../lib/bytes.ts";
import { effectiveRules } from "../lib/route-rules.ts";
import { visible } from "../lib/terminal-text.ts";
import type { BottlePlan, PlannedEnv } from "./bottle-plan.ts";
import { CRED_PROXY_URL } from "./bottle-plan.ts";
import { firstLine } from "./render-json.ts";

/** Every value shown comes from a manifest or the host: control characters made visible. */
const v = visible;

const ISOLATION_TEXT: Record<BottlePlan["isolation"], string> = {
  auto: "gVisor when the engine has it, else runc (the launch says which)",
  gvisor: "gVisor, required (the launch stops where the engine lacks it)",
  runc: "runc: the agent shares the host's kernel (no gVisor)",
};

/** The preflight: everything the bottle will allow, in the order a reviewer reads it. */
export function planToText(plan: BottlePlan): string {
  const rows: [string, string[]][] = [
    ["agent", [`${v(plan.agent.name)}  ${pc.dim(`(${v(plan.agent.file)})`)}`]],
    ["bottle", [`${v(plan.bottle.name)}  ${pc.dim(`(${v(plan.bottle.file)})`)}`]],
    ["prompt", [v(firstLine(plan.agent.prompt)) || pc.dim("none (interactive)")]],
    ["skills", [v(plan.agent.skills.map((skill) => skill.name).join(", ")) || pc.dim("none")]],
    ["env", describeEnvs(plan)],
    ["egress", describeEgress(plan)],
    ["git", describeGit(plan)],
    ["cred-proxy", describeRoutes(plan)],
    [
      "supervise",
      [
        plan.supervise.enabled
          ? "on: the agent may ask for more access; you approve with `claude-bottle dashboard`"
          : "off",
      ],
    ],
    ["isolation", [ISOLATION_TEXT[plan.isolation]]],
    ["limits", describeLimits(plan)],
  ];
  if (plan.missing.length)
    rows.push(["missing", plan.missing.map((line) => pc.yellow(`${v(line)} (not set)`))]);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.flatMap(([label, values]) =>
    values.map((value, index) => `  ${(index === 0 ? label : "").padEnd(width)}${value}`),
  );
  return `${pc.bold(`Bottle plan for agent ${plan.agent.name}`)}\n${lines.join("\n")}\n`;
}

function describeEnvs(plan: BottlePlan): string[] {
  const lines = plan.env.length ? plan.env.map(describeEnv) : [pc.dim("none")];
  if (plan.agent.origin === "project")
    lines.push(
      pc.dim(
        "the agent is from this project: literals and asked values only; no host variables, no loader or start-up variables",
      ),
    );
  return lines;
}

function describeEnv(entry: PlannedEnv): string {
  if (entry.kind === "literal") return `${v(entry.name)}  ${pc.dim("literal")}`;
  if (entry.kind === "host") return `${v(entry.name)}  ${pc.dim(`from host $${v(entry.variable)}`)}`;
  return `${v(entry.name)}  ${pc.dim(`asked at launch: ${v(entry.question)}`)}`;
}

function describeEgress({ egress }: BottlePlan): string[] {
  const passthrough = new Set(egress.passthrough);
  const passthroughNote = egress.passthroughClients.length
    ? `(passthrough for ${egress.passthroughClients.join(", ")}; the agent's own connections inspected)`
    : "(passthrough)";
  return [
    `allowed hosts: ${egress.allowlist.map((host) => (passthrough.has(host) ? `${v(host)} ${pc.dim(v(passthroughNote))}` : v(host))).join(", ")}`,
    `TLS interception: ${egress.tlsInterception ? "on (per-bottle CA; bodies, URLs and headers scanned for secrets)" : "off"}`,
    `private ranges reachable: ${egress.ipAllowlist.length ? v(egress.ipAllowlist.join(", ")) : "none"} ${pc.dim("(plus the bottle's own network)")}`,
    ...(Object.keys(egress.hosts).length
      ? [
          `host overrides: ${Object.entries(egress.hosts)
            .map(([name, address]) => `${v(name)} → ${v(address)}`)
            .join(", ")}`,
        ]
      : []),
    ...(egress.upstreamCa.length ? [`extra upstream CAs trusted: ${v(egress.upstreamCa.join(", "))}`] : []),
    pc.dim("everything else is refused with 403 X-Bottle-Block"),
  ];
}

function describeGit({ gitRemotes }: BottlePlan): string[] {
  if (gitRemotes.length === 0) return [pc.dim("none (no git-gate)")];
  return gitRemotes.flatMap((remote) => [
    `${v(remote.name)}: ${v(remote.upstream)} → ${v(remote.gateUrl)}`,
    pc.dim(
      v(
        `  pushes scanned, then forwarded to ${remote.user}@${remote.host}:${remote.port} with ${remote.identityFile}; host key pinned (${remote.knownHostKey.split(" ").find((part) => part.startsWith("ssh-") || part.startsWith("ecdsa-") || part.startsWith("sk-")) ?? "key"})`,
      ),
    ),
  ]);
}

function describeRoutes({ credProxy }: BottlePlan): string[] {
  if (credProxy.routes.length === 0) return [pc.dim("none")];
  return credProxy.routes.flatMap((route) => {
    const roles = route.roles.length ? ` [${v(route.roles.join(", "))}]` : "";
    const rules = effectiveRules({ roles: route.roles, allow: route.allow })
      .map((rule) => `${rule.method} ${rule.path}`)
      .join(", ");
    const tools = route.serverTools.length ? `; server tools: ${route.serverTools.join(", ")}` : "";
    return [
      `${CRED_PROXY_URL}${v(route.path)} → ${v(route.upstream)}  ${pc.dim(v(`${route.authScheme} from host $${route.tokenRef}`))}${roles}`,
      pc.dim(v(`  forwards only: ${rules}${route.allow ? "" : " (role defaults)"}${tools}`)),
    ];
  });
}

function describeLimits(plan: BottlePlan): string[] {
  const { limits } = plan;
  return [
    `agent: ${limits.cpus} CPU${limits.cpus === 1 ? "" : "s"}, ${formatBytes(limits.memoryBytes)} memory, ${limits.processes} processes; each sidecar: 1 CPU`,
    `pushes up to ${formatBytes(limits.pushBytes)}, git-gate's copy of a repository up to ${formatBytes(limits.mirrorBytes)}; audit logs up to ${formatBytes(limits.auditBytes)} per sidecar (oldest lines dropped, counted)`,
    limits.diskBytes === undefined
      ? pc.dim("disk: not limited (limits.disk caps it where the engine can; docs/resources.md)")
      : `agent disk: ${formatBytes(limits.diskBytes)}`,
    // Only a bottle with supervise can have a capability built.
    ...(plan.supervise.enabled
      ? [
          `capability builds: ${limits.build.cpus} CPU${limits.build.cpus === 1 ? "" : "s"}, ${formatBytes(limits.build.memoryBytes)} memory, ${limits.build.minutes} min; carrying up to ${formatBytes(limits.build.homeBytes)} of the agent's home`,
        ]
      : []),
  ];
}
