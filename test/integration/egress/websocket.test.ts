/**
 * WebSocket through the shipped egress proxy, inside an intercepted tunnel, against a real
 * WebSocket server and client (the `ws` library, permessage-deflate on): every message the agent
 * sends is scanned whole (fragments joined, compressed messages inflated with their window); a
 * secret closes the socket with 1008 before the upstream sees it. Other upgrades, handshakes with
 * a body and duplicate Host headers are refused.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import {
  connect,
  httpsRequest,
  makePki,
  type Pki,
  replyFromConnect,
  startTestProxy,
  type TestProxy,
  tlsOver,
} from "./helpers.ts";

const SECRET = `AKIA${"Q7XW4LHZ2KD5N3PR".split("").reverse().join("")}`;

describe("egress-proxy WebSocket inspection", { timeout: 120_000 }, () => {
  let pki: Pki;
  let proxy: TestProxy;
  let server: https.Server;
  let port = 0;
  /** Every message the upstream received, as text. */
  const received: string[] = [];

  before(async () => {
    pki = await makePki();
    const leaf = pki.upstreamLeaves.get("upstream.test")!;
    server = https.createServer({ cert: leaf.cert, key: leaf.key });
    const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 0 } });
    wss.on("connection", (socket) => {
      socket.on("message", (data: Buffer, isBinary) => {
        received.push(data.toString(isBinary ? "latin1" : "utf8"));
        socket.send(`echo ${data.length}`);
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    port = (server.address() as AddressInfo).port;
    proxy = await startTestProxy(pki, { allowlist: [`upstream.test:${port}`] });
  });

  after(async () => {
    await proxy?.close();
    server?.closeAllConnections();
    server?.close();
  });

  /** A wss:// client whose TCP goes through a CONNECT tunnel of the proxy, as an agent's does. */
  async function client(): Promise<{
    ws: WebSocket;
    closed: Promise<{ code: number; reason: string }>;
    echoes: string[];
  }> {
    const tunnel = await connect(proxy.port, `upstream.test:${port}`);
    assert.equal(tunnel.status, 200);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    const ws = new WebSocket(`wss://upstream.test:${port}/ws`, {
      createConnection: () => secure,
      perMessageDeflate: { threshold: 0 },
    });
    const echoes: string[] = [];
    ws.on("message", (data: Buffer) => echoes.push(data.toString()));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on("error", () => {});
    await once(ws, "open");
    return { ws, closed, echoes };
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  it("passes clean messages, compressed and fragmented, both ways (positive control)", async () => {
    const { ws, echoes } = await client();
    ws.send("hello over a compressed socket");
    ws.send("part one, ", { fin: false });
    ws.send("part two", { fin: true });
    ws.send(Buffer.from([0, 1, 2, 3]), { binary: true });
    await settle();
    assert.deepEqual(received.slice(-3), [
      "hello over a compressed socket",
      "part one, part two",
      "\x00\x01\x02\x03",
    ]);
    assert.deepEqual(echoes, ["echo 30", "echo 18", "echo 4"]);
    ws.close();
  });

  for (const [what, send] of [
    ["in a text message", (ws: WebSocket) => ws.send(`aws_key=${SECRET}`)],
    [
      "split across fragments",
      (ws: WebSocket) => {
        ws.send(`key=${SECRET.slice(0, 8)}`, { fin: false });
        ws.send(SECRET.slice(8), { fin: true });
      },
    ],
    [
      "in a binary message",
      (ws: WebSocket) => ws.send(Buffer.from(`\x00${SECRET}\x00`, "latin1"), { binary: true }),
    ],
    [
      "split across two messages",
      (ws: WebSocket) => {
        ws.send(`key=${SECRET.slice(0, 10)}`);
        ws.send(SECRET.slice(10));
      },
    ],
    [
      "after a message that primes the compression window",
      (ws: WebSocket) => {
        ws.send(`prefix words prefix words ${SECRET.slice(0, 6)}`);
        ws.send(`prefix words ${SECRET}`);
      },
    ],
  ] as const) {
    it(`closes the socket with 1008 on a secret ${what}; the upstream never sees it`, {
      timeout: 20_000,
    }, async () => {
      const before = received.length;
      const { ws, closed } = await client();
      send(ws);
      const { code, reason } = await closed;
      assert.equal(code, 1008);
      assert.match(reason, /aws-access-key-id in websocket message; refused by the bottle's egress proxy/);
      await settle();
      assert.ok(
        !received.slice(before).some((text) => text.includes(SECRET.slice(4))),
        received.slice(before).join("|"),
      );
      const audit = (await proxy.auditLines()).filter(
        (line) => line.kind === "websocket" && line.code === "dlp-secret",
      );
      assert.ok(audit.length > 0);
      assert.ok(!JSON.stringify(audit).includes(SECRET));
    });
  }

  it("refuses other upgrades (h2c), a handshake with a body, and duplicate Host headers", async () => {
    const tunnel = await connect(proxy.port, `upstream.test:${port}`);
    const secure = await tlsOver(tunnel.socket, "upstream.test", pki.bottleCa.certPem);
    const h2c = await httpsRequest(proxy.port, `https://upstream.test:${port}/`, pki.bottleCa.certPem, {
      socket: secure,
      headers: {
        connection: "Upgrade, HTTP2-Settings",
        upgrade: "h2c",
        "http2-settings": "AAMAAABkAAQAAP__",
      },
    });
    assert.equal(h2c.status, 403);
    assert.equal(h2c.headers["x-bottle-block"], "upgrade-refused");
    const withBody = await httpsRequest(proxy.port, `https://upstream.test:${port}/`, pki.bottleCa.certPem, {
      method: "POST",
      headers: { connection: "Upgrade", upgrade: "websocket" },
      body: `smuggled ${SECRET}`,
    });
    assert.equal(withBody.status, 403);
    assert.equal(withBody.headers["x-bottle-block"], "upgrade-refused");

    const raw = await connect(proxy.port, `upstream.test:${port}`);
    const tlsSocket = await tlsOver(raw.socket, "upstream.test", pki.bottleCa.certPem);
    tlsSocket.write(
      `GET / HTTP/1.1\r\nHost: upstream.test:${port}\r\nHost: evil.test\r\nConnection: close\r\n\r\n`,
    );
    const chunks: Buffer[] = [];
    tlsSocket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(tlsSocket, "end");
    const reply = replyFromConnect({
      status: 0,
      head: Buffer.concat(chunks).toString("latin1"),
      socket: raw.socket,
    });
    assert.match(Buffer.concat(chunks).toString("latin1"), /^HTTP\/1\.1 400/);
    assert.equal(reply.headers["x-bottle-block"], "bad-request");
  });
});
