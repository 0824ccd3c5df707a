import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import {
  connect,
  makePki,
  type Pki,
  replyFromConnect,
  startTestProxy,
  startUpstream,
  type TestProxy,
  tlsOver,
  type Upstream,
} from "./helpers.ts";

/** Resolves when the socket closes; rejects if that takes longer than `ms` (a hung test fails). */
function closedWithin(socket: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.on("error", () => {});
  });
}

describe("egress-proxy limits", () => {
  let pki: Pki;
  let upstream: Upstream;
  let proxy: TestProxy;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    proxy = await startTestProxy(pki, {
      allowlist: ["upstream.test"],
      limits: {
        max_tunnels: 2,
        max_header_bytes: 2048,
        headers_timeout_ms: 300,
        request_timeout_ms: 600,
        handshake_timeout_ms: 300,
        check_interval_ms: 100,
        idle_timeout_ms: 5000,
      },
    });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("closes a slowloris client that never finishes its headers", async () => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("GET http://upstream.test/ HTTP/1.1\r\nHost: upstream.test\r\n");
    const drip = setInterval(() => socket.writable && socket.write("X-Drip: 1\r\n"), 50);
    try {
      await closedWithin(socket, 5000);
    } finally {
      clearInterval(drip);
    }
  });

  it("closes a slowloris client inside an intercepted tunnel", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    secure.write("GET / HTTP/1.1\r\nHost: upstream.test\r\n");
    const drip = setInterval(() => secure.writable && secure.write("X-Drip: 1\r\n"), 50);
    try {
      await closedWithin(secure, 5000);
    } finally {
      clearInterval(drip);
      secure.destroy();
    }
  });

  it("closes a tunnel whose client never starts the TLS handshake", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(tunnel.status, 200);
    await closedWithin(tunnel.socket, 5000);
  });

  it("refuses headers over max_header_bytes with 431", async () => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    socket.write(
      `GET http://upstream.test/ HTTP/1.1\r\nHost: upstream.test\r\nX-Big: ${"a".repeat(4096)}\r\n\r\n`,
    );
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
    });
    await closedWithin(socket, 5000);
    assert.match(text, /^HTTP\/1\.1 431/);
    assert.match(text, /X-Bottle-Block: header-too-large/);
  });

  it("refuses a CONNECT beyond max_tunnels with 503 tunnel-limit, and accepts again once one closes", async () => {
    const first = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    const second = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const third = replyFromConnect(await connect(proxy.port, `upstream.test:${upstream.https.port}`));
    assert.equal(third.status, 503);
    assert.equal(third.headers["x-bottle-block"], "tunnel-limit");
    first.socket.destroy();
    second.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const fourth = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(fourth.status, 200);
    fourth.socket.destroy();
  });
});

/** The first bytes a TLS client sends (its ClientHello), captured without any network. */
async function clientHello(servername: string): Promise<Buffer> {
  const { Duplex } = await import("node:stream");
  const tls = await import("node:tls");
  return new Promise((resolve) => {
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer) {
        resolve(chunk);
        setImmediate(() => client.destroy());
      },
    });
    const client = tls.connect({ socket: wire, servername });
    client.on("error", () => {});
  });
}

describe("egress-proxy: a client that leaves in the middle of its TLS handshake", () => {
  let pki: Pki;
  let upstream: Upstream;
  let proxy: TestProxy;

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    // One tunnel slot and a handshake timeout far beyond the test: only noticing the client's
    // close can free the slot.
    proxy = await startTestProxy(pki, {
      allowlist: ["upstream.test"],
      limits: { max_tunnels: 1, handshake_timeout_ms: 600_000 },
    });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("frees its tunnel at once: the proxy closes its side and the slot takes the next CONNECT", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(tunnel.status, 200);
    tunnel.socket.write(await clientHello("upstream.test"));
    tunnel.socket.end();
    tunnel.socket.resume();
    await closedWithin(tunnel.socket, 20_000);
    const next = await connect(proxy.port, `upstream.test:${upstream.https.port}`);
    assert.equal(next.status, 200, replyFromConnect(next).body);
    next.socket.destroy();
  });
});
