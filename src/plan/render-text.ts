import pc from "picocolors";
import type { BottlePlan, PlannedEnv } from "./bottle-plan.ts";
import { CRED_PROXY_URL } from "./bottle-plan.ts";
import { firstLine } from "./render-json.ts";

/** The preflight: everything the bottle will allow, in the order a reviewer reads it. */
export function planToText(plan: BottlePlan): string {
  const rows: [string, string[]][] = [
    ["agent", [`${plan.agent.name}  ${pc.dim(`(${plan.agent.file})`)}`]],
    ["bottle", [`${plan.bottle.name}  ${pc.dim(`(${plan.bottle.file})`)}`]],
    ["prompt", [firstLine(plan.agent.prompt) || pc.dim("none (interactive)")]],
    ["skills", [plan.agent.skills.map((skill) => skill.name).join(", ") || pc.dim("none")]],
    ["env", plan.env.length ? plan.env.map(describeEnv) : [pc.dim("none")]],
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
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = rows.flatMap(([label, values]) =>
    values.map((value, index) => `  ${(index === 0 ? label : "").padEnd(width)}${value}`),
  );
  return `${pc.bold(`Bottle plan for agent ${plan.agent.name}`)}\n${lines.join("\n")}\n`;
}

function describeEnv(entry: PlannedEnv): string {
  if (entry.kind === "literal") return `${entry.name}  ${pc.dim("literal")}`;
  if (entry.kind === "host") return `${entry.name}  ${pc.dim(`from host $${entry.variable}`)}`;
  return `${entry.name}  ${pc.dim(`asked at launch: ${entry.question}`)}`;
}

function describeEgress({ egress }: BottlePlan): string[] {
  const passthrough = new Set(egress.passthrough);
  const passthroughNote = egress.passthroughClients.length
    ? `(passthrough for ${egress.passthroughClients.join(", ")}; the agent's own connections inspected)`
    : "(passthrough)";
  return [
    `allowed hosts: ${egress.allowlist.map((host) => (passthrough.has(host) ? `${host} ${pc.dim(passthroughNote)}` : host)).join(", ")}`,
    `TLS interception: ${egress.tlsInterception ? "on (per-bottle CA; bodies, URLs and headers scanned for secrets)" : "off"}`,
    `private ranges reachable: ${egress.ipAllowlist.length ? egress.ipAllowlist.join(", ") : "none"} ${pc.dim("(plus the bottle's own network)")}`,
    ...(Object.keys(egress.hosts).length
      ? [
          `host overrides: ${Object.entries(egress.hosts)
            .map(([name, address]) => `${name} → ${address}`)
            .join(", ")}`,
        ]
      : []),
    ...(egress.upstreamCa.length ? [`extra upstream CAs trusted: ${egress.upstreamCa.join(", ")}`] : []),
    pc.dim("everything else is refused with 403 X-Bottle-Block"),
  ];
}

function describeGit({ gitRemotes }: BottlePlan): string[] {
  if (gitRemotes.length === 0) return [pc.dim("none (no git-gate)")];
  return gitRemotes.flatMap((remote) => [
    `${remote.name}: ${remote.upstream} → ${remote.gateUrl}`,
    pc.dim(
      `  pushes scanned, then forwarded to ${remote.user}@${remote.host}:${remote.port} with ${remote.identityFile}; host key pinned (${remote.knownHostKey.split(" ").find((part) => part.startsWith("ssh-") || part.startsWith("ecdsa-") || part.startsWith("sk-")) ?? "key"})`,
    ),
  ]);
}

function describeRoutes({ credProxy }: BottlePlan): string[] {
  if (credProxy.routes.length === 0) return [pc.dim("none")];
  return credProxy.routes.map((route) => {
    const roles = route.roles.length ? ` [${route.roles.join(", ")}]` : "";
    return `${CRED_PROXY_URL}${route.path} → ${route.upstream}  ${pc.dim(`${route.authScheme} from host $${route.tokenRef}`)}${roles}`;
  });
}
