import type { ScriptStep } from "../../contracts/demo-api.ts";

export interface DemoTargets {
  /** https URL of an allowed page (the fake API's own host). */
  allowedUrl: string;
  /** The upstream URL of the demo repository, as the manifest declares it. */
  repoUrl: string;
}

/**
 * What Claude Code does in the demo, one Bash call per step, each with the outcome it shows.
 * The agent never knows the API token, the SSH key or any route around the proxy.
 */
export function demoScript(targets: DemoTargets): { step: ScriptStep; shows: string }[] {
  const repo = "~/workspace/demo";
  return [
    {
      shows: "an allowed request goes out through the egress proxy",
      step: { note: "Fetching an allowed page.", bash: `curl -sS ${targets.allowedUrl}` },
    },
    {
      shows: "a host that is not on the allowlist is refused, with the reason",
      step: {
        note: "Trying a host that is not allowed.",
        bash: "curl -sS http://example.com/",
      },
    },
    {
      shows:
        "an API key the bottle does not hold, sent straight to the API, is refused: only cred-proxy's calls pass untouched",
      step: {
        note: "Calling the API directly with a key of my own.",
        // Made inside the bottle, like the AWS key below, so the conversation never carries it.
        bash: `curl -sS -H "x-api-key: sk-ant-api03-$(tr -dc A-Za-z0-9 </dev/urandom | head -c 93)AA" https://api.anthropic.com/v1/models`,
      },
    },
    {
      shows: "a push carrying a secret is refused by git-gate; upstream is unchanged",
      step: {
        note: "Cloning through git-gate and pushing a commit that carries a key.",
        // The key is made inside the bottle, so it never appears in the conversation (whose
        // later API calls would carry it back).
        bash: `git clone -q ${targets.repoUrl} ${repo} && cd ${repo} && git config user.email agent@bottle && git config user.name agent && printf 'aws_access_key_id = AKIA%s\\n' "$(tr -dc A-Z2-7 </dev/urandom | head -c 16)" > config.ini && git add config.ini && git commit -qm 'add config' && { git push origin HEAD >/tmp/push.log 2>&1; echo "push exit: $?"; grep -E 'remote:' /tmp/push.log | head -8; }`,
      },
    },
    {
      shows: "a clean push is scanned and forwarded upstream with the gate's key",
      step: {
        note: "Dropping the secret and pushing a clean commit.",
        bash: `cd ${repo} && git reset -q --hard HEAD~1 && echo 'Hello from the bottle' > HELLO.md && git add HELLO.md && git commit -qm 'say hello' && git push -q origin HEAD && echo "pushed $(git rev-parse --short HEAD)"`,
      },
    },
    {
      shows: "",
      step: {
        text: "Done: one allowed request, one refused host, one refused key, one refused secret push and one clean push.",
      },
    },
  ];
}
