import ipaddr from "ipaddr.js";

/**
 * SSRF policy: an address may be dialled only when ipaddr.js classifies it as `unicast` (public),
 * or when it lies inside one of the allowlisted CIDRs (launch adds the bottle's own internal
 * network). Loopback, private, link-local (cloud metadata at 169.254.169.254), CGNAT, multicast,
 * reserved, NAT64, 6to4, Teredo and every other special range are refused. Pure.
 */

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  readonly source: string;
  readonly range: [IpAddress, number];
}

/**
 * One part of an inet_aton address: decimal, octal (leading 0) or hex (0x). The WHATWG URL parser
 * and getaddrinfo both accept these, so `http://0x7f.1/` and `2130706433` mean 127.0.0.1.
 */
function parseIpv4Part(part: string): number | undefined {
  if (part === "") return undefined;
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return Number.parseInt(part.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(part)) return Number(part);
  return undefined;
}

/** IPv4 in any inet_aton form (`a`, `a.b`, `a.b.c`, `a.b.c.d`; each part dec/oct/hex). */
function parseIpv4Loose(text: string): ipaddr.IPv4 | undefined {
  const trimmed = text.endsWith(".") ? text.slice(0, -1) : text;
  const parts = trimmed.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const value = parseIpv4Part(part);
    if (value === undefined || !Number.isSafeInteger(value)) return undefined;
    numbers.push(value);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((n) => n > 255)) return undefined;
  const lastBytes = 4 - numbers.length;
  if (last >= 256 ** lastBytes) return undefined;
  const bytes = [...numbers];
  for (let i = lastBytes - 1; i >= 0; i--) bytes.push(Math.floor(last / 256 ** i) % 256);
  return new ipaddr.IPv4(bytes);
}

/**
 * Parses an IP literal in any encoding a client or resolver would accept: the inet_aton IPv4
 * forms, IPv6 with or without brackets (zone ids are refused: they name a local interface).
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is unwrapped to the IPv4 address it dials.
 */
export function parseIpLiteral(input: string): IpAddress | undefined {
  let text = input.trim().toLowerCase();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (text === "") return undefined;
  if (text.includes(":")) {
    if (text.includes("%") || !ipaddr.IPv6.isValid(text)) return undefined;
    const v6 = ipaddr.IPv6.parse(text);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return parseIpv4Loose(text);
}

/** The canonical text of an IP literal (`127.0.0.1`, `2001:db8::1`), or undefined if not one. */
export function canonicalIp(input: string): string | undefined {
  return parseIpLiteral(input)?.toString();
}

export function parseCidr(source: string): Cidr | undefined {
  const text = source.trim();
  try {
    const [address, bits] = text.includes("/")
      ? ipaddr.parseCIDR(text)
      : (() => {
          const parsed = ipaddr.parse(text);
          return [parsed, parsed.kind() === "ipv4" ? 32 : 128] as const;
        })();
    return { source, range: [address, bits] };
  } catch {
    return undefined;
  }
}

export type AddressVerdict =
  | { allowed: true; why: "unicast" | "ip-allowlist" }
  | { allowed: false; range: string };

/** Whether an address may be dialled. Mapped IPv6 is judged as the IPv4 address it carries. */
export function checkAddress(address: IpAddress | string, allowlist: readonly Cidr[]): AddressVerdict {
  const parsed = typeof address === "string" ? parseIpLiteral(address) : address;
  if (parsed === undefined) return { allowed: false, range: "invalid" };
  const ip =
    parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
      ? (parsed as ipaddr.IPv6).toIPv4Address()
      : parsed;
  for (const cidr of allowlist) {
    const [base] = cidr.range;
    if (base.kind() === ip.kind() && ip.match(cidr.range)) return { allowed: true, why: "ip-allowlist" };
  }
  const range = ip.range();
  if (range === "unicast") return { allowed: true, why: "unicast" };
  return { allowed: false, range };
}
