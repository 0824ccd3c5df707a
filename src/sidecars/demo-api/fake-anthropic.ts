import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer, type ServerOptions } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext } from "node:tls";
import type { RecordedRequest, ScriptStep } from "../../contracts/demo-api.ts";

/**
 * A local stand-in for the Anthropic Messages API that plays a script: each request that offers
 * tools gets the next step (a Bash tool call, or a final text), so the real Claude Code CLI can
 * be driven inside a bottle without an account. Requests without tools (Claude Code's
 * housekeeping) get a short text. Streams SSE as the real API does. `GET /demo/hello` is a plain
 * page, for the demo's "allowed request".
 */

export interface FakeAnthropic extends AsyncDisposable {
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** Steps not yet played. */
  remaining(): number;
  close(): Promise<void>;
}

export interface FakeAnthropicOptions {
  script: readonly ScriptStep[];
  host?: string;
  port?: number;
  /** Serve HTTPS with these certificates (PEM), chosen by SNI, the first by default; plain HTTP without. */
  tls?: readonly { host: string; cert: string; key: string }[];
  onRequest?: (request: RecordedRequest) => void;
}

interface MessagesBody {
  stream?: boolean;
  tools?: unknown[];
  model?: string;
  messages?: { role: string; content: unknown }[];
}

export async function startFakeAnthropic(options: FakeAnthropicOptions): Promise<FakeAnthropic> {
  const steps = [...options.script];
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const handler = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    let body: MessagesBody = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as MessagesBody;
    } catch {
      response.writeHead(400, { "content-type": "application/json" }).end(
        JSON.stringify({
          type: "error",
          error: { type: "invalid_request_error", message: "body is not JSON" },
        }),
      );
      return;
    }
    const hadTools = Array.isArray(body.tools) && body.tools.length > 0;
    const credential =
      header(request, "x-api-key") ?? header(request, "authorization")?.replace(/^Bearer /, "");
    const recorded: RecordedRequest = {
      path,
      credentialSha256:
        credential === undefined ? undefined : createHash("sha256").update(credential).digest("hex"),
      hadTools,
      toolResults: toolResultsOf(body),
    };
    requests.push(recorded);
    options.onRequest?.(recorded);
    if (request.method === "GET" && path === "/demo/hello") {
      response.writeHead(200, { "content-type": "text/plain" }).end("hello from an allowed host\n");
      return;
    }
    if (path.endsWith("/count_tokens")) {
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ input_tokens: 100 }));
      return;
    }
    if (!path.endsWith("/v1/messages")) {
      response
        .writeHead(404, { "content-type": "application/json" })
        .end(
          JSON.stringify({ type: "error", error: { type: "not_found_error", message: `no route ${path}` } }),
        );
      return;
    }
    const step: ScriptStep = hadTools
      ? (steps.shift() ?? { text: "The script is finished." })
      : { text: "OK" };
    counter += 1;
    const message = messageFor(
      step,
      `msg_fake_${counter}`,
      `toolu_fake_${counter}`,
      body.model ?? "claude-fake",
    );
    if (body.stream) writeStream(response, message);
    else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(message));
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handler(request, response).catch(() => response.destroy());
  };
  const server = options.tls?.[0]
    ? createTlsServer(tlsOptions(options.tls), listener)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    remaining: () => steps.length,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function tlsOptions(certificates: NonNullable<FakeAnthropicOptions["tls"]>): ServerOptions {
  const contexts = new Map(
    certificates.map(({ host, cert, key }) => [host, createSecureContext({ cert, key })]),
  );
  const [first] = certificates;
  return {
    cert: first?.cert,
    key: first?.key,
    SNICallback: (servername, callback) =>
      callback(null, contexts.get(servername) ?? contexts.get(first?.host ?? "")),
  };
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Tool results the request carries back: in the messages after the last assistant turn. */
function toolResultsOf(body: MessagesBody): string[] {
  const messages = body.messages ?? [];
  const lastAssistant = messages.findLastIndex((message) => message.role === "assistant");
  return messages.slice(lastAssistant + 1).flatMap((message) => {
    if (!Array.isArray(message.content)) return [];
    return message.content.flatMap((block: { type?: string; content?: unknown }) => {
      if (block.type !== "tool_result") return [];
      if (typeof block.content === "string") return [block.content];
      if (Array.isArray(block.content))
        return block.content.map((part: { text?: string }) => part.text ?? "").filter(Boolean);
      return [];
    });
  });
}

interface Message {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: (
    | { type: "text"; text: string }
    | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> }
  )[];
  stop_reason: "end_turn" | "tool_use";
  stop_sequence: null;
  usage: { input_tokens: number; output_tokens: number };
}

function messageFor(step: ScriptStep, id: string, toolId: string, model: string): Message {
  const usage = { input_tokens: 100, output_tokens: 20 };
  if ("bash" in step) {
    const content: Message["content"] = [
      ...(step.note ? [{ type: "text" as const, text: step.note }] : []),
      {
        type: "tool_use",
        id: toolId,
        name: "Bash",
        input: { command: step.bash, description: step.note ?? "Run a command" },
      },
    ];
    return {
      id,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: "tool_use",
      stop_sequence: null,
      usage,
    };
  }
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text: step.text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage,
  };
}

/** The Messages API's streaming form of a message: message_start … message_stop. */
function writeStream(response: ServerResponse, message: Message): void {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (event: string, data: unknown) =>
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("message_start", {
    type: "message_start",
    message: {
      ...message,
      content: [],
      stop_reason: null,
      usage: { input_tokens: message.usage.input_tokens, output_tokens: 1 },
    },
  });
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      send("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "text_delta", text: block.text },
      });
    } else {
      send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      send("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      });
    }
    send("content_block_stop", { type: "content_block_stop", index });
  });
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens },
  });
  send("message_stop", { type: "message_stop" });
  response.end();
}
