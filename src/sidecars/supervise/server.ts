import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SUPERVISE, SUPERVISE_LIMITS } from "../../contracts/supervise.ts";
import { errorMessage } from "../../lib/user-error.ts";
import { registerSuperviseTools, type ToolContext } from "./tools.ts";

export interface SuperviseServer extends AsyncDisposable {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

const INSTRUCTIONS = `Tools to ask a human operator for more access. The bottle's current policy is in ${SUPERVISE.currentConfigMount} (allowlist, routes.json, Dockerfile). Each call waits until the operator decides, then says what changed.`;

/**
 * The supervise MCP server over streamable HTTP, stateless: every POST gets its own McpServer
 * and transport (no session to lose when a long poll outlives a connection). Tool calls wait for
 * the operator, so request timeouts are off; a client that disconnects aborts its call, which
 * withdraws its proposal.
 */
export async function startSuperviseServer(
  tools: ToolContext,
  listen: { host: string; port: number },
): Promise<SuperviseServer> {
  const context: ToolContext = { ...tools, waiting: tools.waiting ?? new Map() };
  let active = 0;
  const server = createServer((request, response) => {
    if (active >= SUPERVISE_LIMITS.concurrentRequests) {
      request.resume();
      jsonRpcError(
        response,
        429,
        -32000,
        `too many calls at once (${SUPERVISE_LIMITS.concurrentRequests}); wait for the operator's answers to the pending ones`,
      );
      return;
    }
    active += 1;
    response.once("close", () => {
      active -= 1;
    });
    handle(request, response, context).catch((error: unknown) => {
      context.log(`request failed: ${errorMessage(error)}`);
      if (!response.headersSent) jsonRpcError(response, 500, -32603, "internal error");
      else response.destroy();
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, port: (server.address() as AddressInfo).port, close, [Symbol.asyncDispose]: close };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  context: ToolContext,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (path === SUPERVISE.healthPath && request.method === "GET") {
    response.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  if (path !== SUPERVISE.mcpPath) {
    response
      .writeHead(404, { "content-type": "text/plain" })
      .end(`not found; the MCP endpoint is ${SUPERVISE.mcpPath}\n`);
    return;
  }
  if (request.method !== "POST") {
    // Stateless: no server-initiated stream (GET) and no session to delete (DELETE).
    jsonRpcError(response, 405, -32000, "method not allowed; POST JSON-RPC to this endpoint");
    return;
  }
  const body = await readBody(request, SUPERVISE_LIMITS.requestBytes);
  if (body === "too-large") {
    jsonRpcError(
      response,
      413,
      -32000,
      `request too large: at most ${SUPERVISE_LIMITS.requestBytes} bytes; propose a smaller change`,
    );
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    jsonRpcError(response, 400, -32700, "parse error: the body is not JSON");
    return;
  }
  const mcp = new McpServer(
    { name: "claude-bottle-supervise", version: "1" },
    { instructions: INSTRUCTIONS },
  );
  registerSuperviseTools(mcp, context);
  const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
  response.on("close", () => {
    void transport.close();
    void mcp.close();
  });
  await mcp.connect(transport);
  await transport.handleRequest(request, response, parsed);
}

/**
 * The request body, kept up to `limit` bytes; beyond it "too-large", the rest read and dropped
 * (so the answer still reaches the client) in constant memory.
 */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(request.headers["content-length"] ?? 0) > limit ? limit + 1 : 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    request.on("end", () => resolve(size > limit ? "too-large" : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function jsonRpcError(response: ServerResponse, status: number, code: number, message: string): void {
  response
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}
