import type { Block } from "../../lib/block-response.ts";
import type { AuditRecord } from "../common/audit.ts";
import type { ProxyPolicy, Target } from "./types.ts";

/**
 * Whether a request the proxy sees in the clear is inspected (DLP): always, except to a
 * passthrough host from a client passthrough_clients names (or from anyone when it names none).
 */
export async function inspects(
  policy: ProxyPolicy,
  mode: "inspect" | "passthrough",
  clientAddress: string | undefined,
): Promise<boolean> {
  return mode === "inspect" || !(await policy.passthroughFor(clientAddress ?? ""));
}

export type HeadCheck =
  | { ok: true; address: Extract<Awaited<ReturnType<ProxyPolicy["resolve"]>>, { ok: true }> }
  | { ok: false; block: Block }
  | { ok: false; dnsError: string };

/**
 * What every request does before it may go upstream, forwarded or upgraded: DLP on the URL and
 * headers when inspected (a finding in the URL keeps it out of the audit log), then resolution
 * with the SSRF check on the address that will be dialled.
 */
export async function checkHead(
  policy: ProxyPolicy,
  record: AuditRecord,
  target: Target,
  inspect: boolean,
  headers: readonly string[],
): Promise<HeadCheck> {
  if (inspect) {
    const head = policy.dlp.inspectHead({
      host: target.host,
      port: target.port,
      method: record.method,
      target: target.path,
      rawHeaders: headers,
    });
    if (head.urlTainted) record.path = "[redacted: DLP finding in URL]";
    if (head.block !== undefined) return { ok: false, block: head.block };
  }
  const address = await policy.resolve(target.host);
  if (address.ok) return { ok: true, address };
  if (address.kind === "ssrf") {
    return {
      ok: false,
      block: {
        code: "ssrf",
        rule: `${target.host} ${address.detail}, outside ssrf.ip_allowlist`,
        target: `${target.host}:${target.port}`,
      },
    };
  }
  return { ok: false, dnsError: address.detail };
}
