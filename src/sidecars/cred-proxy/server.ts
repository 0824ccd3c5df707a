import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { BLOCK_HEADER, type Block, renderBlock } from "../../lib/block-response.ts";
import { newRequestId, REQUEST_ID_HEADER } from "../../lib/request-id.ts";
import { effectiveRules, normalizeRequestPath, ruleAllows } from "../../lib/route-rules.ts";
import { type AuditRecord, redactPath } from "../common/audit.ts";
import { isGitPush, pushedRepository } from "../common/git-push.ts";
import { pairs } from "../common/headers.ts";
import { hasDuplicateKeys, refusedServerFeature } from "./anthropic-policy.ts";
import { clientResponseHeaders, upstreamRequestHeaders, upstreamTarget } from "./request.ts";
import { type ActiveRoute, matchRoute, type RouteTable } from "./routes.ts";
import { isTunnelRefused } from "./tunnel-agent.ts";

/**
 * cred-proxy's HTTP server. It owns no policy: the route table arrives from outside and a reload
 * swaps it whole (one assignment, so a request sees the old table or the new one, never a mix).
 * Requests and responses stream both ways; nothing is buffered.
 */
export interface CredProxyOptions {
  routes: RouteTable;
  /** Where upstream connections come from: a TunnelAgent in production, anything in tests. */
  agent: https.Agent;
  log?: (message: string) => void;
  /** One record per request, written when its response ends. */
  audit?: (record: CredProxyAuditRecord) => void;
}

/**
 * One line of cred-proxy-audit.jsonl: which route a request took and what became of it. The path
 * is the route's path and the request's, without its query (which may carry anything).
 */
export interface CredProxyAuditRecord
  extends Pick<
    AuditRecord,
    | "time"
    | "id"
    | "method"
    | "path"
    | "decision"
    | "rule"
    | "code"
    | "status"
    | "bytes_in"
    | "bytes_out"
    | "duration_ms"
  > {
  kind: "request";
  route: string;
  /** The route's upstream host. */
  host: string;
}

export interface CredProxy extends AsyncDisposable {
  listen(host: string, port: number): Promise<AddressInfo>;
  reload(routes: RouteTable): void;
  readonly routes: RouteTable;
  readonly requests: number;
  close(): Promise<void>;
}

const ERROR_HEADER = "X-Bottle-Error";

export function createCredProxy(options: CredProxyOptions): CredProxy {
  const log = options.log ?? ((message: string) => process.stderr.write(`cred-proxy: ${message}\n`));
  let table = options.routes;
  let requests = 0;

  const server = http.createServer({ noDelay: true, keepAliveTimeout: 65_000 });

  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests++;
    const current = table;
    const url = req.url ?? "/";
    const started = performance.now();
    const record: CredProxyAuditRecord = {
      time: new Date().toISOString(),
      id: newRequestId(),
      kind: "request",
      method: (req.method ?? "?").slice(0, 32),
      path: redactPath(url.split("?")[0] ?? "/"),
      route: "",
      host: "",
      decision: "allow",
      rule: "",
      bytes_in: 0,
      bytes_out: 0,
      duration_ms: 0,
    };
    req.on("data", (chunk: Buffer) => {
      record.bytes_out += chunk.length;
    });
    res.once("close", () => {
      // Ended before its response was complete (the client or the upstream went away).
      if (!res.writableFinished && record.decision === "allow") {
        record.decision = "error";
        record.code = "incomplete";
      }
      record.status = res.statusCode;
      record.duration_ms = Math.round((performance.now() - started) * 1000) / 1000;
      options.audit?.(record);
    });
    const refuse = (block: Omit<Block, "sidecar">, asAnthropic = false) => {
      record.decision = "block";
      record.rule = block.rule;
      record.code = block.code;
      const rendered = renderBlock(
        { ...block, sidecar: "cred-proxy", id: record.id },
        { bottle: current.file.bottle, supervise: current.file.supervise },
      );
      // The body is not read: close the connection rather than leave it half-consumed.
      res.setHeader("Connection", "close");
      if (asAnthropic) {
        // In the API's own error shape, so Claude Code shows the agent why.
        const body = JSON.stringify({
          type: "error",
          error: { type: "permission_error", message: rendered.body },
        });
        res.writeHead(rendered.status, {
          [BLOCK_HEADER]: block.code,
          [REQUEST_ID_HEADER]: record.id,
          "Content-Type": "application/json",
          "Content-Length": String(Buffer.byteLength(body)),
        });
        res.end(body);
      } else {
        res.writeHead(rendered.status, rendered.headers);
        res.end(rendered.body);
      }
      req.resume();
    };
    if (!url.startsWith("/")) {
      refuse({ code: "bad-request", rule: "cred-proxy takes origin-form requests (GET /route/...)" });
      return;
    }
    const route = matchRoute(current.routes, url);
    if (route !== undefined) {
      record.route = route.path;
      record.host = route.target.host;
      record.rule = `route ${route.path}`;
    }
    if (route === undefined) {
      refuse({
        code: "no-route",
        rule: `no route owns ${url.split("?")[0]}; routes: ${current.routes.map((r) => r.path).join(", ") || "none"}`,
        target: url.split("?")[0] ?? "/",
      });
      return;
    }
    const method = (req.method ?? "GET").toUpperCase();
    const query = url.indexOf("?");
    const normalized = normalizeRequestPath(url.slice(route.path.length, query === -1 ? undefined : query));
    if (!normalized.ok) {
      refuse({ code: "bad-request", rule: normalized.reason });
      return;
    }
    if (isGitPush(`${route.path}${normalized.path}${query === -1 ? "" : url.slice(query)}`)) {
      refuse({
        code: "git-push-https",
        rule: "git push over HTTPS (git-receive-pack) is refused on cred-proxy; fetch works",
        target: `${route.path}${pushedRepository(url.slice(route.path.length)) ? `/${pushedRepository(url.slice(route.path.length))}` : ""}`,
        ...pushHint(current, route, url),
      });
      return;
    }
    if (!ruleAllows(effectiveRules(route), method, normalized.path)) {
      refuse({
        code: "route-rule",
        rule: `${method} ${route.path}${normalized.path} is not in the route's rules (${describeRules(route)})`,
        target: `${method} ${route.path}${normalized.path}`,
      });
      return;
    }
    const target = upstreamTarget(route, url);
    if (!target.ok) {
      refuse({ code: "bad-request", rule: target.reason });
      return;
    }
    if (
      method === "POST" &&
      route.roles.includes("anthropic-base-url") &&
      normalized.path.startsWith("/v1/messages")
    ) {
      void inspectMessages(req, route).then(
        (checked) => {
          if ("body" in checked) forward(req, res, route, target.path, record, checked.body);
          else refuse(checked.block, true);
        },
        () => res.destroy(),
      );
      return;
    }
    forward(req, res, route, target.path, record);
  });

  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: ActiveRoute,
    path: string,
    record: CredProxyAuditRecord,
    body?: Buffer,
  ) {
    const upstream = https.request({
      host: route.target.hostname,
      port: route.target.port || 443,
      method: req.method ?? "GET",
      path,
      headers: upstreamRequestHeaders(req.rawHeaders, route),
      agent: options.agent,
    });
    upstream.on("response", (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, pairs(clientResponseHeaders(upstreamRes.rawHeaders)));
      // Headers now, not with the first body byte: a long poll or a slow model shows progress.
      res.flushHeaders();
      upstreamRes.on("data", (chunk: Buffer) => {
        record.bytes_in += chunk.length;
      });
      upstreamRes.pipe(res);
      upstreamRes.once("error", () => res.destroy());
      upstreamRes.once("aborted", () => res.destroy());
    });
    upstream.on("error", (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (isTunnelRefused(error)) {
        record.decision = "block";
        record.code = error.headers[BLOCK_HEADER.toLowerCase()] ?? "egress-proxy";
        const egressId = error.headers[REQUEST_ID_HEADER.toLowerCase()];
        record.rule = `refused by the egress proxy${egressId ? ` (request id ${egressId})` : ""}`;
        // The egress proxy's own refusal (X-Bottle-Block) or error, as it wrote it.
        res.writeHead(error.status, { ...error.headers, "Content-Length": String(error.body.length) });
        res.end(error.body);
        return;
      }
      const code = (error as NodeJS.ErrnoException).code ?? "";
      const kind =
        (error as { tls?: boolean }).tls || code.startsWith("ERR_TLS") || code.includes("CERT")
          ? "upstream-tls"
          : code === "ETIMEDOUT"
            ? "upstream-timeout"
            : "upstream-unreachable";
      log(`${req.method} ${route.path}: ${kind} (${error.message})`);
      record.decision = "error";
      record.code = kind;
      const body = `claude-bottle cred-proxy could not reach ${route.target.host}: ${kind} (${error.message})\n`;
      res.writeHead(kind === "upstream-timeout" ? 504 : 502, {
        [ERROR_HEADER]: kind,
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": String(Buffer.byteLength(body)),
      });
      res.end(body);
    });
    // A client that goes away takes its upstream request with it (an abandoned stream costs tokens).
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (body === undefined) req.pipe(upstream);
    else upstream.end(body);
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    get routes() {
      return table;
    },
    get requests() {
      return requests;
    },
    reload(routes) {
      table = routes;
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Names the git-gate remote for the pushed repository, when the bottle declares one. */
function pushHint(table: RouteTable, route: ActiveRoute, url: string): { hint?: string } {
  const remotes = table.file.git_remotes;
  if (remotes.length === 0) return {};
  const repository = pushedRepository(url.slice(route.path.length));
  const sameHost = remotes.filter((remote) => remote.host === route.target.hostname);
  const exact = sameHost.find((remote) => remote.path.replace(/\.git$/, "") === repository);
  const candidates = exact ? [exact] : sameHost.length ? sameHost : remotes;
  const list = candidates.map((remote) => `${remote.gate_url} (remote ${remote.name})`).join(", ");
  return {
    hint: `Push through git-gate instead: \`git push ${candidates[0]?.gate_url} ...\`; ${candidates.length > 1 ? "remotes" : "remote"}: ${list}.`,
  };
}

/** The largest Messages request read for inspection (Claude Code's stay far below). */
const MAX_MESSAGES_BODY = 32 * 1024 * 1024;

function describeRules(route: ActiveRoute): string {
  return effectiveRules(route)
    .map((rule) => `${rule.method} ${rule.path}`)
    .join(", ");
}

/**
 * Reads a Messages request whole and checks what it asks Anthropic's servers to do; resolves to
 * the body to forward, or the refusal. Compressed or unparsable bodies are refused (fail closed).
 */
async function inspectMessages(
  req: http.IncomingMessage,
  route: ActiveRoute,
): Promise<{ body: Buffer } | { block: Omit<Block, "sidecar"> }> {
  const target = `POST ${route.path}${(req.url ?? "").slice(route.path.length).split("?")[0]}`;
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding.toLowerCase() !== "identity")
    return {
      block: {
        code: "bad-request",
        rule: "a Messages request must not be compressed (it is inspected)",
        target,
      },
    };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MESSAGES_BODY)
      return {
        block: { code: "bad-request", rule: `a Messages request over ${MAX_MESSAGES_BODY} bytes`, target },
      };
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  let json: unknown;
  const text = body.toString("utf8");
  try {
    json = JSON.parse(text);
  } catch {
    return { block: { code: "bad-request", rule: "a Messages request must be JSON", target } };
  }
  if (hasDuplicateKeys(text))
    return { block: { code: "bad-request", rule: "a Messages request repeats a JSON key", target } };
  const refused = refusedServerFeature(json, new Set(route.server_tools ?? []));
  if (refused !== undefined)
    return { block: { code: "server-tool", rule: `${refused} is not allowed on this route`, target } };
  return { body };
}
