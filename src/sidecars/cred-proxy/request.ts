import { endToEndHeaders } from "../common/headers.ts";
import type { ActiveRoute } from "./routes.ts";

/**
 * Pure per-request logic of cred-proxy: where a request goes and with which headers. The server
 * (server.ts) does the I/O.
 */

/** Credentials a client may send; all are dropped, the route's own is injected. */
const CLIENT_CREDENTIALS: ReadonlySet<string> = new Set([
  "authorization",
  "x-api-key",
  "proxy-authorization",
  // The proxy answers `Expect: 100-continue` itself; forwarding it would stall the upload.
  "expect",
  "host",
  "x-bottle-block",
  "x-bottle-error",
]);

/** `path` is the request target to send upstream (path and query), on `route.target`'s origin. */
export type Target = { ok: true; path: string } | { ok: false; reason: string };

/**
 * The upstream URL for a request under a route: the part after the prefix is appended to the
 * upstream's path. Dot segments (also percent-encoded) are refused: they would let a path under
 * one route climb out of the upstream's base path.
 */
export function upstreamTarget(route: ActiveRoute, rawUrl: string): Target {
  const rest = rawUrl.slice(route.path.length);
  const query = rest.indexOf("?");
  const restPath = query === -1 ? rest : rest.slice(0, query);
  let decoded: string;
  try {
    decoded = decodeURIComponent(restPath);
  } catch {
    return { ok: false, reason: "the path is not valid percent-encoding" };
  }
  if (decoded.split(/[/\\]/).some((segment) => segment === "." || segment === "..")) {
    return { ok: false, reason: "the path has `.` or `..` segments" };
  }
  const base = route.target.pathname === "/" ? "" : route.target.pathname;
  const path = `${base}${restPath}` || "/";
  // Kept raw (no URL object): it would re-encode; the upstream gets the bytes the client sent.
  return {
    ok: true,
    path: `${path.startsWith("/") ? path : `/${path}`}${query === -1 ? "" : rest.slice(query)}`,
  };
}

/** The header a route's scheme puts the token in. */
export function credentialHeader(route: Pick<ActiveRoute, "auth_scheme" | "token">): [string, string] {
  switch (route.auth_scheme) {
    case "Bearer":
      return ["Authorization", `Bearer ${route.token}`];
    case "token":
      return ["Authorization", `token ${route.token}`];
    case "x-api-key":
      return ["x-api-key", route.token];
    case "anthropic":
      // API and admin keys go in x-api-key; OAuth access tokens as Bearer.
      return /^sk-ant-(api|admin)\d/.test(route.token)
        ? ["x-api-key", route.token]
        : ["Authorization", `Bearer ${route.token}`];
  }
}

/**
 * Request headers for the upstream, as a flat raw list: hop-by-hop headers (and those named by
 * Connection) and every client-supplied credential are dropped; Host names the upstream; the
 * route's credential is added last and only once.
 */
export function upstreamRequestHeaders(rawHeaders: readonly string[], route: ActiveRoute): string[] {
  const headers = endToEndHeaders(rawHeaders, CLIENT_CREDENTIALS);
  headers.push("Host", route.target.host, ...credentialHeader(route));
  return headers;
}

/** Response headers for the client: hop-by-hop headers are dropped, the rest passes as sent. */
export function clientResponseHeaders(rawHeaders: readonly string[]): string[] {
  return endToEndHeaders(rawHeaders);
}
