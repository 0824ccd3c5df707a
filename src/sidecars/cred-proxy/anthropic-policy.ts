import type { ServerTool } from "../../lib/route-rules.ts";

/**
 * What a Messages request (POST /v1/messages, and each request of a batch) may ask Anthropic's
 * servers to do. The bottle's walls stop at the API: a server tool (web search, web fetch, code
 * execution), an MCP connector (`mcp_servers`) or a URL image/document source makes Anthropic's
 * servers contact a third party with data the agent chose, past the allowlist and DLP. Each is
 * refused unless the route names it in `server_tools`. Claude Code's own requests use none of
 * them. Pure.
 */

const TOOL_TYPES: readonly [RegExp, ServerTool][] = [
  [/^web_search_/, "web_search"],
  [/^web_fetch_/, "web_fetch"],
  [/^code_execution_/, "code_execution"],
  [/^mcp_toolset$/, "mcp_servers"],
];

/** The first server-side feature the request uses that the route does not allow, in words. */
export function refusedServerFeature(body: unknown, allowed: ReadonlySet<ServerTool>): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const requests = (body as { requests?: unknown }).requests;
  if (Array.isArray(requests)) {
    // A batch: every request's params are a Messages request of their own.
    for (const request of requests) {
      const reason = refusedServerFeature((request as { params?: unknown } | null)?.params, allowed);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
  const request = body as { mcp_servers?: unknown; tools?: unknown };
  if (Array.isArray(request.mcp_servers) && request.mcp_servers.length > 0 && !allowed.has("mcp_servers"))
    return "`mcp_servers` (the MCP connector makes Anthropic's servers call the listed URLs)";
  if (Array.isArray(request.tools)) {
    for (const tool of request.tools) {
      const type =
        typeof (tool as { type?: unknown })?.type === "string" ? (tool as { type: string }).type : "";
      const match = TOOL_TYPES.find(([pattern]) => pattern.test(type));
      if (match !== undefined && !allowed.has(match[1]))
        return `the server tool \`${type}\` (it runs on Anthropic's servers and reaches the internet)`;
    }
  }
  if (!allowed.has("url_sources") && hasUrlSource(body)) {
    return "a content block with a URL source (Anthropic's servers would fetch that URL)";
  }
  return undefined;
}

/** Any `source: {type: "url"}` (image, document) anywhere in the request. */
function hasUrlSource(value: unknown, depth = 0): boolean {
  if (depth > 64 || typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => hasUrlSource(item, depth + 1));
  const record = value as Record<string, unknown>;
  const source = record.source as { type?: unknown } | undefined;
  if (typeof source === "object" && source !== null && source.type === "url") return true;
  return Object.values(record).some((item) => hasUrlSource(item, depth + 1));
}
