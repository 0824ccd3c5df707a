/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded, nor any header the Connection header
 * names, nor proxy credentials meant for this proxy.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Only this proxy speaks these: an upstream must not be able to fake a refusal or an error. */
export const PROXY_ONLY: ReadonlySet<string> = new Set(["x-bottle-block", "x-bottle-error"]);

function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== "connection") continue;
    for (const token of (raw[i + 1] ?? "").split(",")) {
      const t = token.trim().toLowerCase();
      if (t === "" || t === "close" || t === "keep-alive") continue;
      tokens ??= new Set();
      tokens.add(t);
    }
  }
  return tokens;
}

/** Filters a flat raw header list; `drop` lists extra lower-case names to remove. */
export function endToEndHeaders(raw: readonly string[], drop?: ReadonlySet<string>): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

export function rawHeaderValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** Raw header list to [name, value][] pairs for ServerResponse.writeHead. */
export function pairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
