/**
 * The built-in `default` agent and bottle: with no manifest written, `claude-bottle start`
 * runs Claude Code with its own hosts reachable and the host's Claude credential injected by
 * cred-proxy. `claude-bottle init` writes these texts out as files to edit.
 */

/**
 * The default bottle's Anthropic route takes either credential: the first of these host variables
 * that is set, sent as the API expects it for its form (`auth_scheme: anthropic`).
 */
export function defaultBottleText(): string {
  return `---
description: Claude Code with its own API only; the Anthropic credential stays on the host.
env: {}
git: []
cred_proxy:
  routes:
    - path: /anthropic
      upstream: https://api.anthropic.com
      auth_scheme: anthropic
      token_ref: [CLAUDE_CODE_OAUTH_TOKEN, ANTHROPIC_API_KEY]
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
