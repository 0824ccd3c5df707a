import type { Rule } from "../types.ts";
import { contextual } from "./define.ts";

const HEX32 = "[a-f0-9]{32}";
const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/**
 * Tokens without a prefix of their own: random strings that only mean something next to the
 * provider's name (`DATADOG_API_KEY=…`, `twilio: { authToken: "…" }`). Patterns after gitleaks.
 */
export const contextualRules: readonly Rule[] = [
  contextual(
    "datadog-api-key",
    "Datadog API or application key",
    ["datadog", "dd_api_key", "dd_app_key", "dd-api-key", "dd_application_key"],
    "[a-z0-9]{32}(?:[a-z0-9]{8})?",
  ),
  contextual("twilio-auth-token", "Twilio auth token", ["twilio"], HEX32),
  contextual("heroku-api-key", "Heroku API key", ["heroku"], UUID),
  contextual(
    "atlassian-api-token-legacy",
    "Atlassian (Jira, Confluence) API token",
    ["atlassian", "jira", "confluence"],
    "[a-zA-Z0-9]{24}",
  ),
  contextual(
    "discord-bot-token",
    "Discord bot token",
    ["discord"],
    String.raw`[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}`,
  ),
  contextual("discord-client-secret", "Discord client secret", ["discord"], "[A-Za-z0-9_-]{32}"),
  contextual("mailgun-signing-key", "Mailgun key", ["mailgun"], "[a-f0-9]{32}(?:-[a-f0-9]{8}-[a-f0-9]{8})?"),
  contextual("okta-api-token", "Okta API token", ["okta"], "00[A-Za-z0-9_-]{40}"),
  contextual(
    "twitter-secret",
    "Twitter/X API secret",
    ["twitter", "x_api_secret", "x_api_key"],
    "[A-Za-z0-9]{35,50}",
  ),
  contextual("twitter-bearer-token", "Twitter/X bearer token", ["twitter"], "A{22}[A-Za-z0-9%]{80,120}"),
  contextual("fastly-api-token", "Fastly API token", ["fastly"], "[A-Za-z0-9_-]{32}"),
  contextual("algolia-api-key", "Algolia API key", ["algolia"], "[a-z0-9]{32}"),
  contextual("asana-token", "Asana token", ["asana"], "[0-9]{1,2}/[0-9]{16}:[a-f0-9]{32}|[0-9]{16}"),
  contextual("bitbucket-client-secret", "Bitbucket client secret", ["bitbucket"], "[A-Za-z0-9=_-]{64}"),
  contextual("codecov-token", "Codecov access token", ["codecov"], HEX32),
  contextual("coinbase-access-token", "Coinbase access token", ["coinbase"], "[A-Za-z0-9_-]{64}"),
  contextual("confluent-secret", "Confluent secret key", ["confluent"], "[A-Za-z0-9+/]{64}"),
  contextual("etsy-access-token", "Etsy access token", ["etsy"], "[a-z0-9]{24}"),
  contextual("finicity-secret", "Finicity client secret", ["finicity"], "[a-z0-9]{20}"),
  contextual("freshbooks-token", "Freshbooks access token", ["freshbooks"], "[a-z0-9]{64}"),
  contextual("gitter-token", "Gitter access token", ["gitter"], "[a-z0-9_-]{40}"),
  contextual("hubspot-api-key", "HubSpot API key", ["hubspot"], UUID),
  contextual("intercom-api-key", "Intercom API key", ["intercom"], "[A-Za-z0-9=_-]{60}"),
  contextual("kraken-access-token", "Kraken access token", ["kraken"], "[A-Za-z0-9/=_+-]{80,90}"),
  contextual("kucoin-secret", "KuCoin secret key", ["kucoin"], UUID),
  contextual("launchdarkly-token", "LaunchDarkly access token", ["launchdarkly"], "[A-Za-z0-9=_-]{40}"),
  contextual(
    "linkedin-client-secret",
    "LinkedIn client secret",
    ["linkedin", "linked_in"],
    "[a-zA-Z0-9]{16}",
  ),
  contextual("lob-api-key", "Lob API key", ["lob_", "lob-", "lobapi"], "(?:live|test)_[a-f0-9]{35}"),
  contextual("mattermost-token", "Mattermost access token", ["mattermost"], "[a-z0-9]{26}"),
  contextual(
    "messagebird-api-key",
    "MessageBird API key",
    ["messagebird", "message_bird", "message-bird"],
    "[a-zA-Z0-9]{25}",
  ),
  contextual("netlify-access-token", "Netlify access token", ["netlify"], "[A-Za-z0-9=_-]{40,46}"),
  contextual(
    "nytimes-access-token",
    "New York Times access token",
    ["nytimes", "new-york-times", "newyorktimes"],
    "[A-Za-z0-9=_-]{32}",
  ),
  contextual("sendbird-token", "Sendbird access token", ["sendbird"], "[a-f0-9]{40}"),
  contextual(
    "sidekiq-secret",
    "Sidekiq Enterprise credentials",
    ["bundle_enterprise__contribsys__com", "bundle_gems__contribsys__com"],
    "[a-f0-9]{8}:[a-f0-9]{8}",
  ),
  contextual("snyk-api-token", "Snyk API token", ["snyk"], UUID),
  contextual("sumologic-access-key", "Sumo Logic access key", ["sumo"], "[A-Za-z0-9]{64}"),
  contextual("travisci-token", "Travis CI access token", ["travis"], "[a-zA-Z0-9]{22}"),
  contextual("trello-token", "Trello access token", ["trello"], "[a-zA-Z0-9]{32}"),
  contextual("twitch-token", "Twitch API token", ["twitch"], "[a-z0-9]{30}"),
  contextual(
    "yandex-api-key",
    "Yandex API key",
    ["yandex"],
    "AQVN[A-Za-z0-9_-]{35,38}|t1\\.[A-Z0-9a-z_-]+[=]{0,2}\\.[A-Z0-9a-z_-]{86}[=]{0,2}|YC[a-zA-Z0-9_-]{38}",
  ),
  contextual("zendesk-secret", "Zendesk secret key", ["zendesk"], "[a-z0-9]{40}"),
  contextual(
    "azure-devops-pat",
    "Azure DevOps personal access token",
    ["azure_devops", "azdo", "ado_pat", "azure-devops", "devops_pat"],
    "[a-z0-9]{52}",
  ),
  contextual("cohere-api-key", "Cohere API key", ["cohere", "co_api_key"], "[a-zA-Z0-9]{40}"),
  contextual("mistral-api-key", "Mistral API key", ["mistral"], "[a-zA-Z0-9]{32}"),
  contextual("deepseek-api-key", "DeepSeek API key", ["deepseek"], "sk-[a-f0-9]{32}"),
  contextual("adafruit-api-key", "Adafruit IO key", ["adafruit"], "[a-z0-9_-]{32}"),
  contextual(
    "airtable-api-key",
    "Airtable API key",
    ["airtable"],
    "pat[A-Za-z0-9]{14}\\.[a-f0-9]{64}|[a-zA-Z0-9]{17}",
  ),
  contextual("bittrex-secret", "Bittrex secret key", ["bittrex"], "[a-z0-9]{32}"),
  contextual("gitea-token", "Gitea access token", ["gitea"], "[a-f0-9]{40}"),
  contextual("jenkins-api-token", "Jenkins API token", ["jenkins"], "[a-f0-9]{32,34}"),
  contextual("pagerduty-api-key", "PagerDuty API key", ["pagerduty", "pager_duty"], "[A-Za-z0-9_+-]{20}"),
  contextual(
    "cloudflare-global-api-key",
    "Cloudflare global API key",
    ["cloudflare", "cf_api_key"],
    "[a-f0-9]{37}",
  ),
];
