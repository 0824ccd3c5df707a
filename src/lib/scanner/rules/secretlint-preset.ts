import { hasValidGitHubChecksum } from "../checksums.ts";
import type { Rule } from "../types.ts";
import { prefixed, rule } from "./define.ts";

/**
 * The patterns of @secretlint/secretlint-rule-preset-recommend 13.1, ported so that `scan` can
 * stay synchronous (secretlint's `lintSource` is async) and run behind our keyword pre-filter.
 * Where secretlint checks something after the regex we do too; test/unit/scanner asserts that
 * we find everything the real preset finds on the corpus.
 */
export const secretlintPresetRules: readonly Rule[] = [
  prefixed(
    "aws-access-key-id",
    "AWS access key ID",
    ["A3T", "AKIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ASIA"],
    "[A-Z0-9]{16}",
    { flags: "" },
  ),
  rule(
    "aws-secret-access-key",
    "AWS secret access key",
    ["aws_secret", "awssecret", "aws-secret", "secret_access_key", "secretaccesskey"],
    String.raw`(?i:(?:aws[_-]?)?secret[_-]?access[_-]?key)["']?\s{0,8}(?::|=>|=)\s{0,8}["']?(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])`,
  ),
  rule(
    "gcp-service-account-key",
    "Google Cloud service account key (private_key_id)",
    ['"private_key_id"'],
    String.raw`"private_key_id"\s{0,8}:\s{0,8}"(?<secret>[a-f0-9]{40})"`,
  ),
  prefixed("npm-access-token", "npm access token", ["npm_"], "[A-Za-z0-9]{36}"),
  rule(
    "npmrc-auth-token",
    "npm registry _authToken",
    ["_authtoken="],
    String.raw`_authToken=(?<secret>[^$\s{(][^\s]{7,300})`,
  ),
  rule(
    "slack-token",
    "Slack token",
    ["xoxb-", "xoxp-", "xapp-", "xoxa-", "xoxo-", "xoxr-", "xoxe-"],
    String.raw`(?<![A-Za-z0-9])(?<secret>(?:xox[bpaore]|xapp)-(?:\d-)?(?:[a-zA-Z0-9]{1,40}-){1,6}[a-zA-Z0-9]{1,80})(?![A-Za-z0-9])`,
  ),
  rule(
    "slack-webhook-url",
    "Slack incoming webhook URL",
    ["hooks.slack.com/"],
    String.raw`hooks\.slack\.com/(?:services|workflows|triggers)/(?<secret>T[a-zA-Z0-9]{1,40}/[AB][a-zA-Z0-9]{1,40}/[a-zA-Z0-9]{1,60})`,
  ),
  prefixed("sendgrid-api-key", "SendGrid API key", ["SG."], String.raw`[\w-]{16,32}\.[\w-]{16,64}`),
  prefixed(
    "shopify-token",
    "Shopify access token",
    ["shppa_", "shpca_", "shpat_", "shpss_"],
    "[a-fA-F0-9]{32,64}",
  ),
  prefixed(
    "stripe-secret-key",
    "Stripe secret or restricted key",
    ["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
    "[a-zA-Z0-9]{24,99}",
  ),
  prefixed(
    "github-token",
    "GitHub token (classic, OAuth, user-to-server, server-to-server, refresh)",
    ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    "[A-Za-z0-9]{36}",
    { validate: hasValidGitHubChecksum, vetoOnInvalid: true },
  ),
  prefixed(
    "github-fine-grained-pat",
    "GitHub fine-grained personal access token",
    ["github_pat_"],
    "[A-Za-z0-9_]{82}",
  ),
  prefixed(
    "gitlab-token",
    "GitLab token",
    [
      "glpat-",
      "gldt-",
      "glptt-",
      "glrt-",
      "glcbt-",
      "glimt-",
      "glagent-",
      "glsoat-",
      "glffct-",
      "gloas-",
      "GR1348941",
    ],
    "[A-Za-z0-9_-]{20,128}",
  ),
  prefixed("grafana-cloud-token", "Grafana Cloud API token", ["glc_"], "[A-Za-z0-9+/]{32,400}={0,2}"),
  prefixed(
    "grafana-service-account-token",
    "Grafana service account token",
    ["glsa_"],
    "[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
  ),
  prefixed(
    "openai-api-key",
    "OpenAI API key",
    ["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
    String.raw`(?:(?<=sk-(?:proj|svcacct|admin)-)[A-Za-z0-9_-]{58,74}T3BlbkFJ[A-Za-z0-9_-]{58,74}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})`,
  ),
  prefixed(
    "anthropic-api-key",
    "Anthropic API key",
    // API and admin keys, OAuth access and refresh tokens, claude.ai session keys.
    ["sk-ant-api0", "sk-ant-admin0", "sk-ant-oat0", "sk-ant-ort0", "sk-ant-sid0"],
    String.raw`\d-[A-Za-z0-9_-]{32,160}`,
  ),
  prefixed("groq-api-key", "Groq API key", ["gsk_"], "[a-zA-Z0-9]{52}"),
  prefixed("huggingface-token", "Hugging Face access token", ["hf_", "api_org_"], "[a-zA-Z]{34}"),
  prefixed("linear-api-key", "Linear API key", ["lin_api_"], "[a-zA-Z0-9]{32,128}"),
  prefixed("notion-token", "Notion integration token", ["ntn_"], "[0-9]{11}[A-Za-z0-9]{35}"),
  prefixed(
    "1password-service-account-token",
    "1Password service account token",
    ["ops_ey"],
    "[A-Za-z0-9+/=]{100,1280}",
  ),
  prefixed("hashicorp-vault-token", "HashiCorp Vault token", ["hvs.", "hvr."], "[A-Za-z0-9_-]{90,120}"),
  prefixed("hashicorp-vault-batch-token", "HashiCorp Vault batch token", ["hvb."], "[A-Za-z0-9_-]{138,300}"),
  prefixed("vercel-token", "Vercel token", ["vcp_", "vci_", "vca_", "vcr_", "vck_"], "[A-Za-z0-9]{20,60}"),
  prefixed("databricks-token", "Databricks access token", ["dapi"], "[a-f0-9]{32}(?:-[0-9])?"),
  prefixed("docker-hub-pat", "Docker Hub personal access token", ["dckr_pat_"], "[a-zA-Z0-9_-]{27}"),
  prefixed("figma-token", "Figma personal access token", ["figd_"], "[A-Za-z0-9_-]{40,200}"),
  prefixed(
    "cloudflare-token",
    "Cloudflare API token",
    ["cfk_", "cfut_", "cfat_"],
    "[A-Za-z0-9]{40}[0-9a-f]{8}",
  ),
  prefixed(
    "tailscale-key",
    "Tailscale key",
    ["tskey-"],
    "[a-z]{2,20}-[0-9A-Za-z_]{8,40}-[0-9A-Za-z_]{16,60}",
  ),
];
