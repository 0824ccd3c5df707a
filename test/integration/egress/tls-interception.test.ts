import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import {
  connect,
  httpsRequest,
  makePki,
  type Pki,
  replyFromConnect,
  startTestProxy,
  startUpstream,
  type TestProxy,
  tlsOver,
  type Upstream,
} from "./helpers.ts";

describe("egress-proxy TLS interception", () => {
  let pki: Pki;
  let upstream: Upstream & { release: () => void };
  let proxy: TestProxy;
  let base: string;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    proxy = await startTestProxy(pki, {
      allowlist: ["upstream.test", "other.test"],
      passthrough: ["passthrough.test"],
    });
    base = `https://upstream.test:${upstream.https.port}`;
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("presents a leaf for the CONNECT host signed by the bottle CA", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(tunnel.status, 200);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    const cert = new X509Certificate(secure.getPeerX509Certificate()?.raw ?? Buffer.alloc(0));
    assert.equal(cert.checkIssued(new X509Certificate(pki.bottleCa.certPem)), true);
    assert.equal(cert.checkHost("upstream.test"), "upstream.test");
    const reply = await httpsRequest(proxy.port, `${base}/inside`, pki.bottleCa.certPem, { socket: secure });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers["x-upstream"], "yes");
    secure.destroy();
  });

  it("keeps the tunnel alive for several requests", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    for (const path of ["/one", "/two", "/three"]) {
      const reply = await httpsRequest(proxy.port, `${base}${path}`, pki.bottleCa.certPem, {
        socket: secure,
      });
      assert.equal(JSON.parse(reply.body).url, path);
    }
    assert.equal(secure.destroyed, false);
    secure.destroy();
  });

  it("tunnels a passthrough host without interception: the client sees the upstream's own certificate", async () => {
    const tunnel = await connect(proxy.port, `passthrough.test:${upstream.https.port}`);
    assert.equal(tunnel.status, 200);
    const secure = await tlsOver(tunnel.socket, "passthrough.test", pki.upstreamCa.certPem);
    const cert = new X509Certificate(secure.getPeerX509Certificate()?.raw ?? Buffer.alloc(0));
    assert.equal(cert.checkIssued(new X509Certificate(pki.upstreamCa.certPem)), true);
    assert.equal(cert.checkHost("passthrough.test"), "passthrough.test");
    secure.destroy();
  });

  it("refuses a Host header that differs from the CONNECT authority (domain fronting)", async () => {
    const reply = await httpsRequest(proxy.port, `${base}/front`, pki.bottleCa.certPem, {
      headers: { host: `other.test:${upstream.https.port}` },
    });
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "domain-fronting");
  });

  it("fails the handshake when the SNI names another host than the CONNECT", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = tls.connect({ socket: tunnel.socket, servername: "other.test", ca: pki.bottleCa.certPem });
    const [error] = (await once(secure, "error")) as [Error];
    assert.ok(error);
  });

  it("streams a response chunk by chunk (server-sent events are not buffered)", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    secure.write(`GET /stream HTTP/1.1\r\nHost: upstream.test:${upstream.https.port}\r\n\r\n`);
    let text = "";
    while (!text.includes("data: first")) {
      const [chunk] = (await once(secure, "data")) as [Buffer];
      text += chunk.toString("utf8");
    }
    // The first event arrived while the upstream still holds the response open.
    assert.doesNotMatch(text, /data: second/);
    assert.match(text, /transfer-encoding: chunked/i);
    upstream.release();
    while (!text.includes("data: second")) {
      const [chunk] = (await once(secure, "data")) as [Buffer];
      text += chunk.toString("utf8");
    }
    secure.destroy();
  });

  it("passes a WebSocket upgrade after the checks and relays frames both ways", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    secure.write(
      `GET /ws HTTP/1.1\r\nHost: upstream.test:${upstream.https.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const [chunk] = (await once(secure, "data")) as [Buffer];
      text += chunk.toString("latin1");
    }
    assert.match(text, /^HTTP\/1\.1 101/);
    // A real (masked) client frame: the proxy reads frames; this upstream echoes the bytes back.
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from("ping-frame").map((byte, index) => byte ^ mask[index & 3]!);
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload]);
    secure.write(frame);
    let echoed = Buffer.from(text.slice(text.indexOf("\r\n\r\n") + 4), "latin1");
    while (!echoed.includes(frame)) {
      const [chunk] = (await once(secure, "data")) as [Buffer];
      echoed = Buffer.concat([echoed, chunk]);
    }
    secure.destroy();
  });

  it("refuses a WebSocket upgrade to a host that is not allowlisted", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    secure.write(
      `GET /ws HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    );
    const [chunk] = (await once(secure, "data")) as [Buffer];
    assert.match(chunk.toString("latin1"), /^HTTP\/1\.1 403[\s\S]*X-Bottle-Block: domain-fronting/);
    secure.destroy();
  });

  it("answers 502 with X-Bottle-Error (not a block) when the upstream certificate is not trusted", async () => {
    const untrusting = await startTestProxy(pki, { allowlist: ["upstream.test"], upstream_ca: [] });
    try {
      const reply = await httpsRequest(untrusting.port, `${base}/`, pki.bottleCa.certPem);
      assert.equal(reply.status, 502);
      assert.equal(reply.headers["x-bottle-error"], "upstream-tls");
      assert.equal(reply.headers["x-bottle-block"], undefined);
    } finally {
      await untrusting.close();
    }
  });

  it("tunnels without interception when tls_interception is not configured", async () => {
    const blind = await startTestProxy(pki, { allowlist: ["upstream.test"], tls_interception: undefined });
    try {
      const tunnel = await connect(blind.port, `upstream.test:${upstream.https.port}`);
      const secure = await tlsOver(tunnel.socket, "upstream.test", pki.upstreamCa.certPem);
      const cert = new X509Certificate(secure.getPeerX509Certificate()?.raw ?? Buffer.alloc(0));
      assert.equal(cert.checkIssued(new X509Certificate(pki.upstreamCa.certPem)), true);
      secure.destroy();
      const refused = replyFromConnect(await connect(blind.port, "elsewhere.test:443"));
      assert.equal(refused.status, 403);
    } finally {
      await blind.close();
    }
  });

  it("inspects plain HTTP sent inside a CONNECT tunnel like any request", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.http.port}`);
    assert.equal(tunnel.status, 200);
    tunnel.socket.resume();
    tunnel.socket.write(`GET /plain-in-tunnel HTTP/1.1\r\nHost: upstream.test:${upstream.http.port}\r\n\r\n`);
    let text = "";
    while (!text.includes("plain-in-tunnel")) {
      const [chunk] = (await once(tunnel.socket, "data")) as [Buffer];
      text += chunk.toString("latin1");
    }
    assert.match(text, /^HTTP\/1\.1 200/);
    tunnel.socket.write(`GET / HTTP/1.1\r\nHost: other.test:${upstream.http.port}\r\n\r\n`);
    const [refusal] = (await once(tunnel.socket, "data")) as [Buffer];
    assert.match(refusal.toString("latin1"), /^HTTP\/1\.1 403[\s\S]*X-Bottle-Block: domain-fronting/i);
    tunnel.socket.destroy();
  });

  it("audits each tunnel with bytes both ways once it closes", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    await httpsRequest(proxy.port, `${base}/tunnel-audit`, pki.bottleCa.certPem, { socket: secure });
    secure.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const lines = await proxy.auditLines();
    const tunnels = lines.filter((l) => l.kind === "tunnel" && l.rule === "intercept upstream.test");
    assert.ok(tunnels.length > 0);
    assert.ok(tunnels.every((l) => (l.bytes_in as number) > 0 && (l.bytes_out as number) > 0));
  });
});
