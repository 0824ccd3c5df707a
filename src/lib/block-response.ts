import { REQUEST_ID_HEADER } from "./request-id.ts";

/**
 * The one refusal format of every bottle sidecar: HTTP 403 (or the status named below), header
 * `X-Bottle-Block: <code>`, and a short plain-text body that names the rule that refused and how
 * to ask for access. An agent reads the header to tell policy from network failure; a human
 * reads the body. Codes are listed in docs/egress-proxy.md. Pure.
 */

type BlockCode =
  | "not-allowlisted"
  | "ssrf"
  | "dlp-secret"
  | "dlp-known-token"
  | "dlp-subdomain"
  | "dlp-undecodable"
  | "body-too-large"
  | "domain-fronting"
  | "bad-request"
  | "tunnel-limit"
  | "upgrade-refused"
  | "route-rule"
  | "server-tool"
  // cred-proxy (docs/cred-proxy.md)
  | "git-push-https"
  | "no-route";

export interface Block {
  readonly code: BlockCode;
  /** The rule that refused, in words a reader can find in the config: an entry, a rule id. */
  readonly rule: string;
  /** What was refused, e.g. `evil.example:443`. Never a secret. */
  readonly target?: string;
  /** The sidecar that refused; default egress-proxy. */
  readonly sidecar?: "egress-proxy" | "cred-proxy";
  /** Replaces the generic how-to line when the refuser knows better (e.g. which remote to use). */
  readonly hint?: string;
  /** The request's id in the refuser's audit log (request-id.ts). */
  readonly id?: string;
}

export interface BlockContext {
  /** Bottle name, to point at ~/.claude-bottle/bottles/<bottle>.md. */
  readonly bottle?: string | undefined;
  /** When supervise is on, the agent can ask for access itself. */
  readonly supervise: boolean;
}

export interface RenderedBlock {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export const BLOCK_HEADER = "X-Bottle-Block";

const STATUS: Readonly<Partial<Record<BlockCode, number>>> = {
  "bad-request": 400,
  "body-too-large": 413,
  "tunnel-limit": 503,
  "no-route": 404,
};

function manifestHint(context: BlockContext): string {
  const file = `~/.claude-bottle/bottles/${context.bottle ?? "<bottle>"}.md`;
  return `an operator can add it to \`egress.allowlist\` in ${file}`;
}

function howToAsk(code: BlockCode, context: BlockContext): string {
  switch (code) {
    case "not-allowlisted":
    case "ssrf":
      return context.supervise
        ? `To ask for access, call the supervise tool \`request_egress\` with the URL and a justification; otherwise ${manifestHint(context)}.`
        : `To ask for access: ${manifestHint(context)}.`;
    case "dlp-secret":
    case "dlp-known-token":
      return "The request carried what looks like a secret. Remove it; credentials are injected by cred-proxy, never sent by the agent.";
    case "dlp-subdomain":
      return "The host name looks like encoded data (DNS-style exfiltration). Use the host's real name.";
    case "dlp-undecodable":
      return "The request body could not be decoded for inspection. Send it uncompressed or with gzip, deflate, br or zstd.";
    case "body-too-large":
      return "The request body exceeds the inspection limit. Send a smaller body.";
    case "domain-fronting":
      return "The Host header must name the host of the CONNECT (or of the absolute URL).";
    case "bad-request":
      return "Send an absolute-form request (http://host/path) or a CONNECT host:port.";
    case "tunnel-limit":
      return "Too many open tunnels; close some connections and retry.";
    case "route-rule":
      return context.supervise
        ? "This route's credential is limited to the methods and paths its rules allow. To ask for more, call the supervise tool `propose_routes` with the route's `allow` list extended; otherwise an operator can add `allow` to the route in the bottle manifest."
        : `This route's credential is limited to the methods and paths its rules allow; an operator can add \`allow: [{method, path}]\` to the route under \`cred_proxy.routes\` in ~/.claude-bottle/bottles/${context.bottle ?? "<bottle>"}.md.`;
    case "server-tool":
      return `Anthropic server tools, MCP connectors and URL sources reach hosts outside the bottle. Leave them out of the request; an operator can allow one by naming it in the route's \`server_tools\` in ~/.claude-bottle/bottles/${context.bottle ?? "<bottle>"}.md.`;
    case "upgrade-refused":
      return "Only WebSocket upgrades pass (a GET without a body); their frames are inspected like any request. Use plain HTTP/1.1 or a WebSocket.";
    case "git-push-https":
      return `Push through git-gate instead: declare the remote under \`git:\` in ~/.claude-bottle/bottles/${context.bottle ?? "<bottle>"}.md and push to git://git-gate/<Name>.git.`;
    case "no-route":
      return `Use one of cred-proxy's routes, or an operator can add one under \`cred_proxy.routes\` in ~/.claude-bottle/bottles/${context.bottle ?? "<bottle>"}.md.`;
  }
}

export function renderBlock(block: Block, context: BlockContext): RenderedBlock {
  const lines = [
    `claude-bottle ${block.sidecar ?? "egress-proxy"} refused ${block.target ?? "this request"}`,
    `code: ${block.code}`,
    `rule: ${block.rule}`,
    block.hint ?? howToAsk(block.code, context),
    ...(block.id === undefined
      ? []
      : [`request id: ${block.id} (the operator can see why with \`claude-bottle why ${block.id}\`)`]),
    "",
  ];
  const body = lines.join("\n");
  return {
    status: STATUS[block.code] ?? 403,
    headers: {
      [BLOCK_HEADER]: block.code,
      ...(block.id === undefined ? {} : { [REQUEST_ID_HEADER]: block.id }),
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      "Cache-Control": "no-store",
    },
    body,
  };
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  413: "Content Too Large",
  503: "Service Unavailable",
};

/** The same refusal as raw HTTP/1.1 bytes, for sockets that have no ServerResponse (CONNECT). */
export function renderBlockRaw(block: Block, context: BlockContext): string {
  const rendered = renderBlock(block, context);
  const head = [`HTTP/1.1 ${rendered.status} ${REASONS[rendered.status] ?? "Forbidden"}`];
  for (const [name, value] of Object.entries(rendered.headers)) head.push(`${name}: ${value}`);
  head.push("Connection: close");
  return `${head.join("\r\n")}\r\n\r\n${rendered.body}`;
}
