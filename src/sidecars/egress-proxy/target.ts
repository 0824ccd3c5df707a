import type { IncomingMessage } from "node:http";
import type { Block } from "../../lib/block-response.ts";
import { normalizeHost, splitHostPort } from "../../lib/host-pattern.ts";
import type { Target, TunnelBinding } from "./types.ts";

/**
 * Where a request goes. On the plain listener only absolute-form is accepted (RFC 9112 §3.2.2);
 * inside an intercepted tunnel the target is the CONNECT authority. Either way the Host header
 * must name the same host and port: a different Host is domain fronting and is refused.
 */

export type TargetResult = { ok: true; target: Target } | { ok: false; block: Block };

const DEFAULT_PORT = { http: 80, https: 443 } as const;

function hostHeaderMatches(header: string | undefined, host: string, port: number, scheme: "http" | "https") {
  if (header === undefined) return true; // HTTP/1.0 clients may omit it; the target decides.
  const split = splitHostPort(header);
  if (split === undefined) return false;
  return normalizeHost(split.host) === host && (split.port ?? DEFAULT_PORT[scheme]) === port;
}

function display(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function fronting(header: string | undefined, host: string, port: number): TargetResult {
  return {
    ok: false,
    block: {
      code: "domain-fronting",
      rule: `Host header ${header === undefined ? "(none)" : JSON.stringify(header.slice(0, 100))} does not match ${display(host, port)}`,
      target: display(host, port),
    },
  };
}

export function targetOf(req: IncomingMessage, tunnel: TunnelBinding | undefined): TargetResult {
  // Node keeps the first of several Host headers; an upstream may read another. Refuse them all.
  const hostHeaders = req.rawHeaders.filter(
    (name, index) => index % 2 === 0 && name.toLowerCase() === "host",
  );
  if (hostHeaders.length > 1) return badRequest("more than one Host header");
  const url = req.url ?? "";
  const hostHeader = req.headers.host;
  if (tunnel !== undefined) {
    const scheme = tunnel.tls ? "https" : "http";
    let path = url;
    if (!url.startsWith("/")) {
      const absolute = parseAbsolute(url);
      if (absolute === undefined) return badRequest("request target inside the tunnel is not origin-form");
      if (absolute.host !== tunnel.host || absolute.port !== tunnel.port) {
        return fronting(`${absolute.host}:${absolute.port}`, tunnel.host, tunnel.port);
      }
      path = absolute.path;
    }
    if (!hostHeaderMatches(hostHeader, tunnel.host, tunnel.port, scheme)) {
      return fronting(hostHeader, tunnel.host, tunnel.port);
    }
    return { ok: true, target: { scheme, host: tunnel.host, port: tunnel.port, path } };
  }
  const absolute = parseAbsolute(url);
  if (absolute === undefined) {
    return badRequest("expected an absolute-form request (http://host/path) or CONNECT host:port");
  }
  if (!hostHeaderMatches(hostHeader, absolute.host, absolute.port, absolute.scheme)) {
    return fronting(hostHeader, absolute.host, absolute.port);
  }
  return { ok: true, target: absolute };
}

function badRequest(rule: string): TargetResult {
  return { ok: false, block: { code: "bad-request", rule } };
}

function parseAbsolute(url: string): Target | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol === "https:" ? "https" : "http";
  const host = normalizeHost(parsed.hostname);
  if (host === undefined) return undefined;
  const port = parsed.port === "" ? DEFAULT_PORT[scheme] : Number(parsed.port);
  return { scheme, host, port, path: `${parsed.pathname}${parsed.search}` };
}
