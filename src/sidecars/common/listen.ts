import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { splitHostPort } from "../../lib/host-pattern.ts";

/** `host:port` (port 0 picks a free one; `[v6]:port` too) as a listen address, or undefined. */
export function parseListenAddress(address: string): { host: string; port: number } | undefined {
  const zero = address.endsWith(":0");
  const split = splitHostPort(zero ? `${address.slice(0, -2)}:1` : address);
  if (split === undefined || split.port === undefined) return undefined;
  return { host: split.host.replace(/^\[|\]$/g, ""), port: zero ? 0 : split.port };
}

/**
 * A sidecar's health listener: GET /healthz answers `{"status":"ok", ...status()}`, anything
 * else 404. Closed by the stack. Containers' readiness checks only need it to listen.
 */
export async function startHealthServer(
  stack: AsyncDisposableStack,
  listen: { host: string; port: number },
  status: () => Record<string, unknown>,
): Promise<AddressInfo> {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/healthz") {
      const body = JSON.stringify({ status: "ok", ...status() });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    res
      .writeHead(404, { "Content-Type": "text/plain" })
      .end("not found: this listener serves only GET /healthz\n");
  });
  stack.defer(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.listen(listen.port, listen.host);
  await once(server, "listening");
  return server.address() as AddressInfo;
}
