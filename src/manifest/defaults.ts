/**
 * The built-in `default` agent and bottle: with no manifest written, `claude-bottle start`
 * runs Claude Code with its own hosts reachable and the host's Claude credential injected by
 * cred-proxy. `claude-bottle init` writes these texts out as files to edit.
 */

/** The host variable the default bottle's Anthropic route reads, in order of preference. */
export function defaultAnthropicToken(env: NodeJS.ProcessEnv): {
  tokenRef: string;
  authScheme: "Bearer" | "x-api-key";
} {
  if (!env.CLAUDE_CODE_OAUTH_TOKEN && env.ANTHROPIC_API_KEY)
    return { tokenRef: "ANTHROPIC_API_KEY", authScheme: "x-api-key" };
  return { tokenRef: "CLAUDE_CODE_OAUTH_TOKEN", authScheme: "Bearer" };
}

export function defaultBottleText(env: NodeJS.ProcessEnv): string {
  const { tokenRef, authScheme } = defaultAnthropicToken(env);
  return `---
description: Claude Code with its own API only; the Anthropic credential stays on the host.
env: {}
git: []
cred_proxy:
  routes:
    - path: /anthropic
      upstream: https://api.anthropic.com
      auth_scheme: ${authScheme}
      token_ref: ${tokenRef}
      role: anthropic-base-url
egress:
  allowlist: []
supervise: false
---
The default bottle. Claude Code's own hosts are always reachable; add more under
\`egress.allowlist\`, git remotes under \`git\`, API credentials under \`cred_proxy.routes\`.
`;
}

export const DEFAULT_AGENT_TEXT = `---
description: Claude Code in the default bottle.
bottle: default
skills: []
---
`;
