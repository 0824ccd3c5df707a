import { domainToASCII } from "node:url";
import { canonicalIp } from "./ip-policy.ts";

/**
 * Allowlist entries: an exact host (`api.github.com`, `10.0.0.5`, `[2001:db8::1]`), or `*.domain`
 * (every subdomain of `domain`, never the apex itself), each with an optional `:port`. Pure: no
 * I/O, so the config schema can import it without pulling in the proxy.
 */
export interface HostPattern {
  /** The entry as written in the config, quoted back in refusals and audit lines. */
  readonly source: string;
  readonly kind: "exact" | "wildcard";
  /** Canonical host (exact) or the domain under the wildcard (`example.org` for `*.example.org`). */
  readonly host: string;
  /** Undefined: the default ports (443 and 80, `DEFAULT_PORTS`), unless a caller says otherwise. */
  readonly port: number | undefined;
}

export type ParseHostPatternResult = { ok: true; pattern: HostPattern } | { ok: false; reason: string };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Canonical form of a host name as a client may write it: lower case, IDNA to punycode, one
 * trailing dot dropped, brackets removed from IPv6, IPv4 in any inet_aton encoding (decimal,
 * octal, hex, short forms) rewritten as dotted quad. Undefined when it is not a valid host.
 */
export function normalizeHost(input: string): string | undefined {
  let host = input.trim();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host === "") return undefined;
  const ip = canonicalIp(host);
  if (ip !== undefined) return ip;
  if (host.includes(":") || host.includes("[") || host.includes("]")) return undefined;
  // domainToASCII parses like a URL host and would cut `x.com/path` to `x.com`: refuse any ASCII
  // character a host name cannot hold before it gets the chance.
  if (/[^A-Za-z0-9._\-\u{80}-\u{10FFFF}]/u.test(host)) return undefined;
  if (host.endsWith(".")) host = host.slice(0, -1);
  const ascii = domainToASCII(host);
  if (ascii === "" || ascii.length > 253) return undefined;
  // domainToASCII accepts some names the WHATWG URL parser would read as an IPv4 number.
  const again = canonicalIp(ascii);
  if (again !== undefined) return again;
  const labels = ascii.split(".");
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  return ascii;
}

/** Splits `host:port`, `[v6]:port` or a bare host. Undefined port when none is given. */
export function splitHostPort(authority: string): { host: string; port: number | undefined } | undefined {
  const text = authority.trim();
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return undefined;
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") !== colon) return undefined; // bare IPv6 needs brackets
    host = colon >= 0 ? text.slice(0, colon) : text;
    portText = colon >= 0 ? text.slice(colon + 1) : undefined;
  }
  if (portText === undefined) return { host, port: undefined };
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { host, port };
}

export function parseHostPattern(entry: string): ParseHostPatternResult {
  const split = splitHostPort(entry);
  if (split === undefined) return { ok: false, reason: "expected host, *.domain or either with :port" };
  const { port } = split;
  if (split.host.startsWith("*.")) {
    const domain = normalizeHost(split.host.slice(2));
    if (domain === undefined || canonicalIp(domain) !== undefined) {
      return { ok: false, reason: "a wildcard must be followed by a domain name" };
    }
    // Without a public-suffix list, require two labels under the wildcard: `*.com` or `*.co`
    // would open a whole top-level domain.
    if (domain.split(".").length < 2) {
      return { ok: false, reason: "a wildcard must cover a registrable domain, not a top-level domain" };
    }
    return { ok: true, pattern: { source: entry, kind: "wildcard", host: domain, port } };
  }
  if (split.host.includes("*")) {
    return { ok: false, reason: "a wildcard is allowed only as the whole first label (*.domain)" };
  }
  const host = normalizeHost(split.host);
  if (host === undefined) return { ok: false, reason: "not a valid host name or IP address" };
  return { ok: true, pattern: { source: entry, kind: "exact", host, port } };
}

/** Ports an entry without `:port` allows: the web's own. Any other port must be named. */
const DEFAULT_PORTS: readonly number[] = [443, 80];

/** The ports an entry without `:port` allows: a list, or "any" (tests of loopback upstreams). */
export type DefaultPorts = readonly number[] | "any";

/** Whether a canonical host and port fall under one pattern. */
export function matchesPattern(
  pattern: HostPattern,
  host: string,
  port: number,
  defaultPorts: DefaultPorts = DEFAULT_PORTS,
): boolean {
  const portAllowed =
    pattern.port !== undefined
      ? pattern.port === port
      : defaultPorts === "any" || defaultPorts.includes(port);
  if (!portAllowed) return false;
  if (pattern.kind === "exact") return host === pattern.host;
  return host.length > pattern.host.length + 1 && host.endsWith(`.${pattern.host}`);
}

/** The first exact pattern that matches, else the most specific wildcard; undefined when none. */
export function findMatch(
  patterns: readonly HostPattern[],
  host: string,
  port: number,
  defaultPorts: DefaultPorts = DEFAULT_PORTS,
): HostPattern | undefined {
  let best: HostPattern | undefined;
  for (const pattern of patterns) {
    if (!matchesPattern(pattern, host, port, defaultPorts)) continue;
    if (pattern.kind === "exact") return pattern;
    if (best === undefined || pattern.host.length > best.host.length) best = pattern;
  }
  return best;
}

/** The labels a wildcard match covers: `a.b` for `a.b.example.org` under `*.example.org`. */
export function wildcardLabels(pattern: HostPattern, host: string): string[] {
  if (pattern.kind !== "wildcard") return [];
  return host.slice(0, host.length - pattern.host.length - 1).split(".");
}
