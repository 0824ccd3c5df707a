import type { Block } from "../../lib/block-response.ts";
import { type DefaultPorts, type HostPattern, matchesPattern } from "../../lib/host-pattern.ts";
import type { Finding, KnownToken, ScanOptions } from "../../lib/scanner/index.ts";

/**
 * DLP glue: what the proxy scans and how findings become refusals. The scanner itself is
 * injected (the project's secret scanner in production, a fake in some tests).
 *
 * Known tokens: the scanner is given every token's fingerprint, and a hit on a token that
 * belongs to the request's host is dropped afterwards, together with any pattern finding that
 * starts inside it (a GitHub token sent to api.github.com is both a known token and a
 * `github-token` pattern hit). The same token anywhere else is refused.
 */

export type ScanFn = (text: string, options?: ScanOptions) => Finding[];
export type AsyncScanFn = (text: string, options?: ScanOptions) => Promise<Finding[]>;

export interface HostToken extends KnownToken {
  readonly host: HostPattern;
}

export interface DlpOptions {
  readonly scan: ScanFn;
  /** Scans off the event loop (worker pool) for bodies above `inlineMaxBytes`. */
  readonly scanAsync?: AsyncScanFn | undefined;
  readonly inlineMaxBytes: number;
  readonly knownTokens: readonly HostToken[];
  readonly extraPatterns: readonly { id: string; pattern: string }[];
  /** Ports a token's host entry without `:port` covers, as for the allowlist. */
  readonly defaultPorts?: DefaultPorts | undefined;
}

interface HeadInput {
  readonly host: string;
  readonly port: number;
  readonly method: string;
  /** Request target as received: origin-form path and query, or the absolute URL. */
  readonly target: string;
  /** Flat raw header list [name, value, name, value, ...], as forwarded. */
  readonly rawHeaders: readonly string[];
}

interface HeadInspection {
  readonly block: Block | undefined;
  /** DLP found something in the URL (even an allowed token): the audit log must not show it. */
  readonly urlTainted: boolean;
}

export interface Dlp {
  inspectHead(input: HeadInput): HeadInspection;
  /** `where` names the place in the refusal: "body" unless told (e.g. "websocket message"). */
  inspectBody(input: {
    host: string;
    port: number;
    text: string;
    where?: string;
  }): Promise<Block | undefined>;
}

const KNOWN = "known-token:";

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

export function createDlp(options: DlpOptions): Dlp {
  const scanOptions: ScanOptions = {
    knownTokens: options.knownTokens.map(({ name, sha256, length }) => ({ name, sha256, length })),
    extraPatterns: options.extraPatterns,
  };
  const tokensByName = new Map<string, HostToken[]>();
  for (const token of options.knownTokens) {
    tokensByName.set(token.name, [...(tokensByName.get(token.name) ?? []), token]);
  }

  function allowedToken(name: string, host: string, port: number): HostToken | undefined {
    return tokensByName.get(name)?.find((t) => matchesPattern(t.host, host, port, options.defaultPorts));
  }

  /** Findings that refuse this request, after allowed known tokens are taken out. */
  function refusing(findings: readonly Finding[], host: string, port: number): Finding[] {
    if (findings.length === 0) return [];
    const allowedSpans: { line: number; from: number; to: number }[] = [];
    for (const f of findings) {
      if (!f.ruleId.startsWith(KNOWN)) continue;
      const token = allowedToken(f.ruleId.slice(KNOWN.length), host, port);
      if (token !== undefined)
        allowedSpans.push({ line: f.line, from: f.column, to: f.column + token.length });
    }
    return findings.filter((f) => {
      if (f.ruleId.startsWith(KNOWN))
        return allowedToken(f.ruleId.slice(KNOWN.length), host, port) === undefined;
      return !allowedSpans.some((s) => s.line === f.line && f.column >= s.from && f.column < s.to);
    });
  }

  function toBlock(finding: Finding, where: string, target: string): Block {
    if (finding.ruleId.startsWith(KNOWN)) {
      return {
        code: "dlp-known-token",
        rule: `${finding.ruleId} in ${where} (this credential belongs to another host)`,
        target,
      };
    }
    return { code: "dlp-secret", rule: `${finding.ruleId} in ${where}`, target };
  }

  return {
    inspectHead(input) {
      const decoded = safeDecode(input.target);
      const lines = [input.target, decoded === input.target ? "" : decoded];
      for (let i = 0; i + 1 < input.rawHeaders.length; i += 2) {
        lines.push(`${input.rawHeaders[i]}: ${input.rawHeaders[i + 1]}`);
      }
      const findings = options.scan(lines.join("\n"), scanOptions);
      const urlTainted = findings.some((f) => f.line <= 2);
      const [first] = refusing(findings, input.host, input.port);
      if (first === undefined) return { block: undefined, urlTainted };
      const where = first.line <= 2 ? "URL" : "headers";
      return { block: toBlock(first, where, `${input.host}:${input.port}`), urlTainted };
    },
    async inspectBody(input) {
      const findings =
        input.text.length > options.inlineMaxBytes && options.scanAsync !== undefined
          ? await options.scanAsync(input.text, scanOptions)
          : options.scan(input.text, scanOptions);
      const [first] = refusing(findings, input.host, input.port);
      return first === undefined
        ? undefined
        : toBlock(first, input.where ?? "body", `${input.host}:${input.port}`);
    },
  };
}
