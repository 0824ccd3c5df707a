import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDocument } from "yaml";
import { type EgressConfig, egressConfigSchema } from "../../contracts/egress-proxy.ts";
import { loadSigningCa, type SigningCa } from "../../lib/tls/ca.ts";

/** A config with every referenced file read and checked: what the proxy runs on. */
export interface ResolvedConfig {
  readonly path: string;
  readonly config: EgressConfig;
  readonly ca: SigningCa | undefined;
  readonly upstreamCaPems: readonly string[];
  readonly auditPath: string | undefined;
}

interface ConfigIssue {
  /** Dotted key path, e.g. `dlp.known_tokens.0.sha256`; `(file)` for the file as a whole. */
  readonly path: string;
  readonly message: string;
}

export type LoadConfigResult =
  | { status: "ok"; resolved: ResolvedConfig }
  | { status: "missing"; path: string }
  | { status: "invalid"; path: string; issues: readonly ConfigIssue[] };

function keyPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(root)" : path.map(String).join(".");
}

export function describeIssues(result: Extract<LoadConfigResult, { status: "invalid" }>): string {
  return [
    `invalid egress config ${result.path}:`,
    ...result.issues.map((i) => `  ${i.path}: ${i.message}`),
  ].join("\n");
}

/**
 * Reads, validates and resolves a config file. Never throws for bad input: the tagged result
 * names key paths only, never values, because a value may be a secret.
 */
export async function loadEgressConfig(file: string): Promise<LoadConfigResult> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing", path };
    return { status: "invalid", path, issues: [{ path: "(file)", message: "cannot be read" }] };
  }
  return parseEgressConfigText(text, path);
}

export async function parseEgressConfigText(text: string, path: string): Promise<LoadConfigResult> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => {
      const at = error.linePos?.[0];
      return {
        path: "(file)",
        message: `YAML ${error.code}${at ? ` at line ${at.line} column ${at.col}` : ""}`,
      };
    });
    return { status: "invalid", path, issues };
  }
  const parsed = egressConfigSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: keyPath(issue.path),
      message: issue.message,
    }));
    return { status: "invalid", path, issues };
  }
  const config = parsed.data;
  const base = dirname(path);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const issues: ConfigIssue[] = [];

  async function read(key: string, p: string): Promise<string | undefined> {
    try {
      return await readFile(abs(p), "utf8");
    } catch {
      issues.push({ path: key, message: "file cannot be read" });
      return undefined;
    }
  }

  let ca: SigningCa | undefined;
  if (config.tls_interception !== undefined) {
    const certPem = await read("tls_interception.ca_cert", config.tls_interception.ca_cert);
    const keyPem = await read("tls_interception.ca_key", config.tls_interception.ca_key);
    if (certPem !== undefined && keyPem !== undefined) {
      try {
        ca = await loadSigningCa(certPem, keyPem);
      } catch (error) {
        const message =
          error instanceof Error && error.message.startsWith("the CA") ? error.message : "unusable";
        issues.push({ path: "tls_interception", message: `${message} (expected an ECDSA P-256 CA)` });
      }
    }
  }
  const upstreamCaPems: string[] = [];
  for (const [index, p] of config.upstream_ca.entries()) {
    const pem = await read(`upstream_ca.${index}`, p);
    if (pem === undefined) continue;
    // Checked now: the trust store that uses it is built only at the first upstream dial.
    if (!isPemCertificate(pem)) {
      issues.push({ path: `upstream_ca.${index}`, message: "not a PEM certificate" });
      continue;
    }
    upstreamCaPems.push(pem);
  }
  if (issues.length > 0) return { status: "invalid", path, issues };
  const auditPath = config.audit.path === undefined ? undefined : abs(config.audit.path);
  return { status: "ok", resolved: { path, config, ca, upstreamCaPems, auditPath } };
}

function isPemCertificate(pem: string): boolean {
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) return false;
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
