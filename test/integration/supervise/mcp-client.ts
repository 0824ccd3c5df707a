import assert from "node:assert/strict";
import { type CliResult, runCliAsync } from "../../helpers/run-cli.ts";

/**
 * A minimal MCP client (streamable HTTP, JSON-RPC) run by the agent's own Node inside the bottle:
 * initialize, initialized, then one tools/call; prints the call's result as JSON. Arguments:
 * the tool name, then its arguments as JSON.
 */
const MCP_CLIENT = `
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
function toolAnswer(stdout: string): { text: string; isError: boolean } {
  const parsed = JSON.parse(stdout) as { content: { text: string }[]; isError?: boolean };
  return { text: parsed.content.map((part) => part.text).join("\n"), isError: parsed.isError === true };
}

/** What a test of a running supervised bottle does as the agent (tool calls) and the operator. */
export interface SupervisedBottle {
  cli(args: string[]): Promise<CliResult>;
  exec(...command: string[]): Promise<CliResult>;
  sh(command: string): Promise<CliResult>;
  /**
   * The agent's tool call and its answer; undefined when the call died with its container or
   * outlived `timeoutMs` (default 120 s: on gVisor under Docker 20.10 an exec into a container that
   * a capability replaced may never return, docs/isolation.md).
   */
  callTool(
    tool: string,
    args: Record<string, unknown>,
    options?: { timeoutMs?: number },
  ): Promise<{ text: string; isError: boolean } | undefined>;
  /** Waits until `dashboard --once` lists a proposal for `needle`; returns its id. */
  pendingId(needle: string): Promise<string>;
}

/** `state` is read on each call: tests fill the instance and env in `before`. */
export function supervisedBottle(
  state: () => { instance: string; env: NodeJS.ProcessEnv; cwd: string },
): SupervisedBottle {
  const cli = (args: string[], timeoutMs?: number) =>
    runCliAsync(args, {
      env: state().env,
      cwd: state().cwd,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  const exec = (...command: string[]) => cli(["exec", state().instance, "--", ...command]);
  return {
    cli: (args) => cli(args),
    exec,
    sh: (command) => exec("sh", "-c", command),
    async callTool(tool, args, options = {}) {
      const result = await cli(
        [
          "exec",
          state().instance,
          "--",
          "node",
          "--input-type=module",
          "-e",
          MCP_CLIENT,
          tool,
          JSON.stringify(args),
        ],
        options.timeoutMs ?? 120_000,
      );
      return result.status === 0 ? toolAnswer(result.stdout) : undefined;
    },
    async pendingId(needle) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const listed = await cli(["dashboard", "--once"]);
        assert.equal(listed.status, 0, listed.stderr);
        const row = listed.stdout.split("\n").find((line) => line.includes(needle));
        if (row) return row.split(/\s+/)[0] ?? "";
        if (Date.now() > deadline) throw new Error(`no proposal for ${needle}: ${listed.stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    },
  };
}
