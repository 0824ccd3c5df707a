import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateBottleCa, loadSigningCa } from "../../../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../../src/lib/tls/leaf.ts";

/**
 * A fake HTTPS upstream on the host, served as `upstream.test` with a leaf from its own test CA
 * (the bottle trusts it through `egress.upstream_ca`). It records every request it receives,
 * streams SSE on demand, and serves a real git repository over smart HTTP (git http-backend,
 * with receive-pack enabled: a push that got through would land).
 */
export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface FakeUpstream {
  port: number;
  /** The upstream CA certificate, written to a file for `egress.upstream_ca`. */
  caFile: string;
  seen: Recorded[];
  /** The bare repository's refs, as `git for-each-ref` prints them. */
  refs(): string;
  close(): void;
}

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const dir = mkdtempSync(join(tmpdir(), "cred-proxy-upstream-"));
  const ca = await generateBottleCa({ commonName: "cred-proxy test upstream CA" });
  const leaf = await mintLeaf(
    await loadSigningCa(ca.certPem, ca.keyPem),
    await generateLeafKey(),
    "upstream.test",
  );
  const caFile = join(dir, "upstream-ca.pem");
  writeFileSync(caFile, ca.certPem);

  const repos = join(dir, "repos");
  const git = (...args: string[]) => spawnSync("git", args, { encoding: "utf8" });
  git("init", "-q", "--bare", "-b", "main", join(repos, "repo.git"));
  git("-C", join(repos, "repo.git"), "config", "http.receivepack", "true");
  const work = join(dir, "work");
  git("init", "-q", "-b", "main", work);
  writeFileSync(join(work, "README"), "hello\n");
  git("-C", work, "add", "README");
  git("-C", work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial");
  git("-C", work, "push", "-q", join(repos, "repo.git"), "main");

  const seen: Recorded[] = [];
  let releaseSse: (() => void) | undefined;
  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const url = req.url ?? "/";
    if (url.startsWith("/repo.git")) {
      gitHttpBackend(repos, req, res);
      return;
    }
    if (url === "/sse") {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      res.write("event: one\ndata: first\n\n");
      // The second event waits for /sse-release, which the client sends only after it has read
      // the first: a proxy that buffered the stream would deadlock here.
      releaseSse = () => res.end("event: two\ndata: second\n\n");
      return;
    }
    if (url === "/sse-release") {
      releaseSse?.();
      res.end("released\n");
      return;
    }
    req.resume();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ ok: true, url }));
  });
  await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    caFile,
    seen,
    refs: () => git("-C", join(repos, "repo.git"), "for-each-ref").stdout,
    close() {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** CGI bridge to `git http-backend` (RFC 3875: headers, a blank line, the body). */
function gitHttpBackend(root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "https://upstream.test");
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      REMOTE_USER: "test",
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      ...(req.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: req.headers["content-encoding"] } : {}),
    },
    stdio: ["pipe", "pipe", "ignore"],
  });
  req.pipe(child.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    headersDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end + 4));
  });
  child.stdout.on("end", () => res.end());
  child.on("error", () => res.destroy());
}
