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
    // A batch: every request's params are a Messages request of their own (the top level is
    // checked too, below, whatever the path claims the body is).
    for (const request of requests) {
      const reason = refusedServerFeature((request as { params?: unknown } | null)?.params, allowed);
      if (reason !== undefined) return reason;
    }
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

/**
 * Whether a JSON text repeats a key within one object. Parsers differ on which copy wins, so a
 * request could show this proxy one `tools` list and the API another: such a body is refused.
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') {
      let end = index + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const keys = stack.at(-1);
      if (expectKey && keys) {
        let key: string;
        try {
          key = JSON.parse(text.slice(index, end + 1)) as string;
        } catch {
          return true;
        }
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      index = end;
    } else if (char === "{") {
      stack.push(new Set());
      expectKey = true;
    } else if (char === "[") {
      stack.push(null);
    } else if (char === "}" || char === "]") {
      stack.pop();
    } else if (char === ",") {
      expectKey = stack.at(-1) instanceof Set;
    }
  }
  return false;
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
