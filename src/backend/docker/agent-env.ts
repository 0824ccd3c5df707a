import { EGRESS } from "../../contracts/egress-proxy.ts";
import type { BottlePlan } from "../../plan/bottle-plan.ts";

/** Where the per-bottle CA lands in the agent and which bundle update-ca-certificates builds. */
export const AGENT_CA_CERT = "/usr/local/share/ca-certificates/claude-bottle-ca.crt";
export const AGENT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/**
 * By number, never by name: a capability image's /etc/passwd could map `node` to uid 0, and every
 * process of the agent (Claude Code, exec, resume, provisioning) runs as this user.
 */
export const AGENT_USER = "1000:1000";
export const AGENT_HOME = "/home/node";
export const AGENT_WORKDIR = "/home/node/workspace";

/** Sidecar names that the agent reaches directly, never through the proxy. */
const SIDECAR_ALIASES = ["cred-proxy", "git-gate", "supervise"] as const;

/**
 * The agent's environment apart from the manifest's own entries: its home, the proxy and CA
 * trust, and Claude Code's telemetry off (it could not get out anyway; this keeps it from
 * retrying).
 */
export function bottleEnv(): Record<string, string> {
  return {
    // With a numeric user Docker takes HOME from /etc/passwd, which the image may not have.
    HOME: AGENT_HOME,
    ...proxyEnv(),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DISABLE_AUTOUPDATER: "1",
  };
}

/** The way out through the egress proxy, and CA trust for every common TLS stack. */
export function proxyEnv(): Record<string, string> {
  const proxy = `http://${EGRESS.alias}:${EGRESS.port}`;
  const noProxy = [...SIDECAR_ALIASES, "localhost", "127.0.0.1", "::1"].join(",");
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_EXTRA_CA_CERTS: AGENT_CA_CERT,
    SSL_CERT_FILE: AGENT_CA_BUNDLE,
    REQUESTS_CA_BUNDLE: AGENT_CA_BUNDLE,
    GIT_SSL_CAINFO: AGENT_CA_BUNDLE,
  };
}

/** The manifest's env with `?prompt` answers filled in; values stay out of every argv. */
export function manifestEnv(
  plan: BottlePlan,
  answers: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of plan.env) {
    if (entry.kind === "literal") env[entry.name] = entry.value;
    else if (entry.kind === "host") env[entry.name] = entry.value.reveal();
    else {
      const answer = answers[entry.name];
      if (answer === undefined) throw new Error(`no answer for env ${entry.name}`);
      env[entry.name] = answer;
    }
  }
  return env;
}
