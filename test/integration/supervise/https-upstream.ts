import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { generateBottleCa, loadSigningCa } from "../../../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../../src/lib/tls/leaf.ts";

export interface Seen {
  host: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface HttpsUpstream {
  port: number;
  /** Its CA, for `egress.upstream_ca`. */
  caFile: string;
  seen: Seen[];
  close(): void;
}

/**
 * An HTTPS upstream on the host answering for several names (one leaf each, chosen by SNI, all
 * from one test CA): a route to a second host needs a server that really is that host. Records
 * every request; answers `{ok, host, url}`.
 */
export async function startHttpsUpstream(names: readonly string[]): Promise<HttpsUpstream> {
  const dir = mkdtempSync(join(tmpdir(), "supervise-upstream-"));
  const ca = await generateBottleCa({ commonName: "supervise test upstream CA" });
  const signing = await loadSigningCa(ca.certPem, ca.keyPem);
  const contexts = new Map<string, ReturnType<typeof createSecureContext>>();
  for (const name of names) {
    const leaf = await mintLeaf(signing, await generateLeafKey(), name);
    contexts.set(name, createSecureContext({ cert: leaf.certPem, key: leaf.keyPem }));
  }
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, ca.certPem);
  const seen: Seen[] = [];
  const server: Server = createServer(
    { SNICallback: (name, done) => done(null, contexts.get(name) ?? contexts.values().next().value) },
    (req, res) => {
      const host = req.headers.host ?? "";
      seen.push({ host, url: req.url ?? "", headers: req.headers });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ ok: true, host: host.split(":")[0], url: req.url }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    caFile,
    seen,
    close() {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
