/**
 * A minimal MCP client (streamable HTTP, JSON-RPC) run by the agent's own Node inside the bottle:
 * initialize, initialized, then one tools/call; prints the call's result as JSON. Arguments:
 * the tool name, then its arguments as JSON.
 */
export const MCP_CLIENT = `
const [tool, args] = [process.argv[1], JSON.parse(process.argv[2])];
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const post = async (body) => {
  const response = await fetch("http://supervise:9100/mcp", { method: "POST", headers, body: JSON.stringify(body) });
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
};
await post({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "probe", version: "1" } } });
await post({ jsonrpc: "2.0", method: "notifications/initialized" });
const answer = await post({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: args } });
process.stdout.write(JSON.stringify(answer.result ?? answer.error));
`;

/** The tool's answer: its text parts joined, and whether it is an error result. */
export function toolAnswer(stdout: string): { text: string; isError: boolean } {
  const parsed = JSON.parse(stdout) as { content: { text: string }[]; isError?: boolean };
  return { text: parsed.content.map((part) => part.text).join("\n"), isError: parsed.isError === true };
}
