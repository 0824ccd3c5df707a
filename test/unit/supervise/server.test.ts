import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { writeCurrentConfig } from "../../../src/contracts/supervise-current-config.ts";
import { ProposalQueue } from "../../../src/contracts/supervise-queue.ts";
import { type SuperviseServer, startSuperviseServer } from "../../../src/sidecars/supervise/server.ts";

interface ToolText {
  text: string;
  isError: boolean;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the supervise MCP server", () => {
  let root: string;
  let queue: ProposalQueue;
  let running: SuperviseServer;
  let client: Client;

  const call = async (name: string, args: Record<string, unknown>): Promise<ToolText> => {
    const result = (await client.callTool({ name, arguments: args })) as {
      content: { type: string; text: string }[];
      isError?: boolean;
    };
    return { text: result.content.map((part) => part.text).join("\n"), isError: result.isError === true };
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "supervise-server-"));
    queue = new ProposalQueue(join(root, "queue"));
    queue.ensure();
    writeCurrentConfig(join(root, "current"), {
      allowlist: ["api.github.com"],
      routes: {
        routes: [
          {
            path: "/gh",
            upstream: "https://api.github.com",
            auth_scheme: "token",
            slot: "CRED_PROXY_TOKEN_0",
            roles: [],
          },
        ],
      },
      dockerfile: "FROM claude-bottle/agent\n",
    });
    running = await startSuperviseServer(
      {
        queue,
        instance: "probe-0123abcd",
        currentConfigDir: join(root, "current"),
        timeoutMs: 1500,
        pollMs: 20,
        log: () => {},
      },
      { host: "127.0.0.1", port: 0 },
    );
    client = new Client({ name: "test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${running.port}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await running?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("lists the three proposal tools, each requiring a justification", async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), [
      "propose_capability",
      "propose_routes",
      "request_egress",
    ]);
    for (const tool of tools) assert.ok(tool.inputSchema.required?.includes("justification"), tool.name);
  });

  it("answers an approved egress request with what was applied, after the operator decides", async () => {
    const pending = call("request_egress", {
      url: "https://pypi.org/simple/",
      justification: "install deps",
    });
    const proposal = await waitFor(() => queue.pending().proposals[0]);
    assert.equal(proposal.kind, "egress");
    assert.ok(proposal.kind === "egress" && proposal.entry === "pypi.org:443");
    assert.equal(proposal.justification, "install deps");
    assert.ok(queue.claim(proposal.id));
    queue.respond({
      version: 1,
      id: proposal.id,
      decision: "approved",
      note: "ok for today",
      applied: "added pypi.org:443 to egress.allowlist",
      decidedAt: new Date().toISOString(),
    });
    const answer = await pending;
    assert.equal(answer.isError, false);
    assert.match(answer.text, /^approved \(proposal [0-9a-f]{8}\): added pypi\.org:443/);
    assert.match(answer.text, /Operator's note: ok for today/);
    assert.deepEqual(readdirSync(join(root, "queue", "responses")), [], "the response is consumed");
  });

  it("answers a rejection with the operator's reason", async () => {
    const pending = call("request_egress", { url: "http://evil.example/x", justification: "because" });
    const proposal = await waitFor(() => queue.pending().proposals[0]);
    queue.claim(proposal.id);
    queue.respond({
      version: 1,
      id: proposal.id,
      decision: "rejected",
      note: "not needed",
      decidedAt: new Date().toISOString(),
    });
    const answer = await pending;
    assert.match(answer.text, /^rejected \(proposal [0-9a-f]{8}\): not needed\. Nothing changed/);
  });

  it("refuses a bad proposal at once, naming every problem, and queues nothing", async () => {
    const answer = await call("request_egress", { url: "ftp://x.example/", justification: " " });
    assert.equal(answer.isError, true);
    assert.match(answer.text, /url: scheme ftp: is not proxied/);
    assert.match(answer.text, /justification: say why/);
    assert.equal(queue.pending().proposals.length, 0);
  });

  it("refuses a request for a host the allowlist already covers", async () => {
    const answer = await call("request_egress", { url: "https://api.github.com/repos", justification: "x" });
    assert.equal(answer.isError, true);
    assert.match(answer.text, /already allowed by the allowlist entry `api\.github\.com`/);
  });

  it("refuses routes that use a token slot cred-proxy does not hold", async () => {
    const answer = await call("propose_routes", {
      routes: [
        { path: "/x", upstream: "https://x.example", auth_scheme: "Bearer", slot: "CRED_PROXY_TOKEN_9" },
      ],
      justification: "x",
    });
    assert.equal(answer.isError, true);
    assert.match(
      answer.text,
      /routes\.0\.slot: must be a token slot cred-proxy already holds \(CRED_PROXY_TOKEN_0\)/,
    );
  });

  it("withdraws the proposal and says so when nobody decides in time", async () => {
    const started = Date.now();
    const answer = await call("propose_capability", {
      dockerfile: "FROM claude-bottle/agent\nRUN apt-get install -y jq\n",
      justification: "needs jq",
    });
    assert.ok(Date.now() - started >= 1400);
    assert.equal(answer.isError, true);
    assert.match(
      answer.text,
      /no operator decided within 2 s; proposal [0-9a-f]{8} was withdrawn and nothing changed/,
    );
    assert.equal(queue.pending().proposals.length, 0, "nothing stays stuck in the queue");
  });

  it("withdraws the proposal when the client goes away mid-call", async () => {
    const other = new Client({ name: "leaver", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${running.port}/mcp`));
    await other.connect(transport);
    const abandoned = other
      .callTool({ name: "request_egress", arguments: { url: "https://a.example", justification: "x" } })
      .catch(() => undefined);
    await waitFor(() => queue.pending().proposals[0]);
    await other.close();
    await abandoned;
    await waitFor(() => (queue.pending().proposals.length === 0 ? true : undefined), 2000);
  });

  it("queues at most 20 proposals of a bottle; the next call is told the limit", async () => {
    const calls = Array.from({ length: 20 }, (_, index) =>
      call("request_egress", { url: `https://host-${index}.example/`, justification: "flood" }),
    );
    await waitFor(() => (queue.pending().proposals.length === 20 ? true : undefined));
    const refused = await call("request_egress", {
      url: "https://one-more.example/",
      justification: "flood",
    });
    assert.equal(refused.isError, true);
    assert.match(
      refused.text,
      /20 proposals of this bottle already wait for the operator \(the limit is 20\)/,
    );
    assert.equal(queue.pending().proposals.length, 20);
    await Promise.all(calls);
    // Each withdrawn on its deadline: the room is free again.
    assert.equal(queue.pending().proposals.length, 0);
  });

  it("serves at most 40 requests at once; the next is told so", async () => {
    const post = (body: unknown) =>
      fetch(`http://127.0.0.1:${running.port}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify(body),
      });
    const ask = (url: string) =>
      post({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "request_egress", arguments: { url, justification: "hold" } },
      });
    // 20 proposals, and 20 more calls waiting on one of them: 40 requests held open.
    const held = [
      ...Array.from({ length: 20 }, (_, index) => ask(`https://held-${index}.example/`)),
      ...Array.from({ length: 20 }, () => ask("https://held-0.example/")),
    ];
    await waitFor(() => (queue.pending().proposals.length === 20 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await ask("https://one-more.example/");
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /too many calls at once \(40\)/);
    await Promise.all(held.map((response) => response.then((answer) => answer.text())));
  });

  it("collapses identical requests into one proposal; both callers get its answer", async () => {
    const args = { url: "https://same.example/", justification: "twice" };
    const [first, second] = [call("request_egress", args), call("request_egress", args)];
    const proposal = await waitFor(() => queue.pending().proposals[0]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(queue.pending().proposals.length, 1);
    assert.ok(queue.claim(proposal.id));
    queue.respond({
      version: 1,
      id: proposal.id,
      decision: "approved",
      applied: "added same.example:443 to egress.allowlist",
      decidedAt: new Date().toISOString(),
    });
    for (const answer of await Promise.all([first, second]))
      assert.match(
        answer.text,
        new RegExp(`^approved \\(proposal ${proposal.id}\\): added same\\.example:443`),
      );
  });

  it("refuses oversized fields and request bodies before anything is queued", async () => {
    const roles = await call("propose_routes", {
      routes: [
        {
          path: "/gh",
          upstream: "https://api.github.com",
          auth_scheme: "token",
          slot: "CRED_PROXY_TOKEN_0",
          roles: Array.from({ length: 1000 }, (_, index) => `role-${index}`),
        },
      ],
      justification: "many roles",
    });
    assert.equal(roles.isError, true);
    assert.match(roles.text, /routes\.0\.roles: at most 16 roles/);
    const url = await call("request_egress", {
      url: `https://x.example/${"a".repeat(5000)}`,
      justification: "x",
    });
    assert.match(url.text, /url: at most 2048 characters/);
    const big = await fetch(`http://127.0.0.1:${running.port}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { pad: "x".repeat(300_000) },
      }),
    });
    assert.equal(big.status, 413);
    assert.match(await big.text(), /request too large: at most 262144 bytes/);
    assert.equal(queue.pending().proposals.length, 0);
  });

  it("answers health checks and 404s other paths", async () => {
    const health = await fetch(`http://127.0.0.1:${running.port}/healthz`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${running.port}/other`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${running.port}/mcp`)).status, 405);
  });
});
