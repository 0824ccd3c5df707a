import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { constants, createDeflateRaw, deflateRawSync } from "node:zlib";
import {
  acceptedDeflate,
  ClientFrameInspector,
  type DeflateTerms,
  inspectableExtensions,
  OPCODE,
  serverCloseFrame,
} from "../../../src/sidecars/egress-proxy/websocket-frames.ts";

const SECRET = "AKIAQ7XW4LHZ2KD5N3PR";

/** A client frame: masked, as RFC 6455 requires. */
function frame(
  opcode: number,
  payload: Buffer | string,
  options: { fin?: boolean; rsv1?: boolean } = {},
): Buffer {
  const data = Buffer.from(payload);
  const head = [((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | opcode];
  const lengthBytes =
    data.length < 126
      ? [0x80 | data.length]
      : data.length < 65536
        ? [0x80 | 126, data.length >> 8, data.length & 0xff]
        : [0x80 | 127, ...Buffer.from(new BigUint64Array([BigInt(data.length)]).buffer).reverse()];
  const mask = randomBytes(4);
  const masked = Buffer.from(data.map((byte, index) => byte ^ mask[index & 3]!));
  return Buffer.concat([Buffer.from([...head, ...lengthBytes]), mask, masked]);
}

/** A real compressor with context takeover: each call is one message's deflated payload. */
function compressor() {
  const deflate = createDeflateRaw();
  const out: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => out.push(chunk));
  return async (text: string) => {
    deflate.write(text);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    return Buffer.concat(out.splice(0)).subarray(0, -4);
  };
}

function inspector(deflate?: DeflateTerms, maxMessageBytes = 1024 * 1024) {
  const scanned: string[] = [];
  const inspect = new ClientFrameInspector({
    maxMessageBytes,
    deflate,
    scan: async (text) => {
      scanned.push(text);
      return text.includes(SECRET)
        ? { code: "dlp-secret", rule: "aws-access-key-id in websocket message" }
        : undefined;
    },
  });
  return { inspect, scanned };
}

describe("WebSocket frames from the agent", () => {
  it("forwards a clean message's frames unchanged, byte for byte, once whole", async () => {
    const { inspect } = inspector();
    const first = frame(OPCODE.text, "hello ", { fin: false });
    const second = frame(OPCODE.continuation, "world");
    assert.deepEqual(
      await inspect.push(first),
      { kind: "forward", bytes: [] },
      "held until the message is whole",
    );
    const verdict = await inspect.push(second);
    assert.equal(verdict.kind, "forward");
    if (verdict.kind === "forward")
      assert.deepEqual(Buffer.concat(verdict.bytes), Buffer.concat([first, second]));
  });

  it("refuses a secret split across fragments and across TCP chunks", async () => {
    const { inspect } = inspector();
    const bytes = Buffer.concat([
      frame(OPCODE.text, `key=${SECRET.slice(0, 9)}`, { fin: false }),
      frame(OPCODE.continuation, SECRET.slice(9)),
    ]);
    assert.equal((await inspect.push(bytes.subarray(0, 7))).kind, "forward");
    const verdict = await inspect.push(bytes.subarray(7));
    assert.equal(verdict.kind, "refuse");
    if (verdict.kind === "refuse") assert.equal(verdict.closeCode, 1008);
  });

  it("refuses a secret split across two messages (the carry-over), and in a binary message", async () => {
    const split = inspector();
    assert.equal((await split.inspect.push(frame(OPCODE.text, `a ${SECRET.slice(0, 10)}`))).kind, "forward");
    assert.equal((await split.inspect.push(frame(OPCODE.text, SECRET.slice(10)))).kind, "refuse");
    const binary = inspector();
    assert.equal(
      (await binary.inspect.push(frame(OPCODE.binary, Buffer.from(`\x00\x01${SECRET}\xff`, "latin1")))).kind,
      "refuse",
    );
  });

  it("inflates permessage-deflate messages, with the window kept across messages", async () => {
    const { inspect, scanned } = inspector({ contextTakeover: true });
    const deflate = compressor();
    const first = await deflate(`intro ${SECRET.slice(0, 4)} plain words repeated plain words`);
    assert.equal((await inspect.push(frame(OPCODE.text, first, { rsv1: true }))).kind, "forward");
    // The second message refers back into the first: only the kept window decodes it.
    const second = await deflate(`plain words repeated ${SECRET}`);
    assert.equal((await inspect.push(frame(OPCODE.text, second, { rsv1: true }))).kind, "refuse");
    assert.match(scanned[0] ?? "", /^intro AKIA plain/);
  });

  it("scans control frames: a close reason or a ping may carry a secret", async () => {
    const { inspect } = inspector();
    const close = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from(SECRET)]);
    assert.equal((await inspect.push(frame(OPCODE.close, close))).kind, "refuse");
    assert.equal((await inspector().inspect.push(frame(OPCODE.ping, SECRET))).kind, "refuse");
    assert.equal((await inspector().inspect.push(frame(OPCODE.ping, "still here"))).kind, "forward");
  });

  it("closes with 1009 on a message over the limit, 1002 on protocol errors, before reading more", async () => {
    const big = await inspector(undefined, 100).inspect.push(frame(OPCODE.text, "x".repeat(101)));
    assert.deepEqual(big.kind === "refuse" && big.closeCode, 1009);
    const unmasked = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const protocol = await inspector().inspect.push(unmasked);
    assert.deepEqual(protocol.kind === "refuse" && protocol.closeCode, 1002);
    const rsv1 = await inspector().inspect.push(frame(OPCODE.text, "x", { rsv1: true }));
    assert.deepEqual(rsv1.kind === "refuse" && rsv1.closeCode, 1002, "RSV1 without permessage-deflate");
    const bomb = inspector({ contextTakeover: false }, 1000);
    const deflated = await compressor()("a".repeat(100_000));
    const inflated = await bomb.inspect.push(frame(OPCODE.text, deflated, { rsv1: true }));
    assert.deepEqual(
      inflated.kind === "refuse" && inflated.closeCode,
      1009,
      "a small frame that inflates past the limit",
    );
  });

  it("refuses bytes hidden after the end of a compressed message, reserved opcodes, and a secret split across pings", async () => {
    const hidden = Buffer.concat([deflateRawSync(Buffer.from("hello")), Buffer.from(` ${SECRET}`)]);
    const smuggled = await inspector({ contextTakeover: false }).inspect.push(
      frame(OPCODE.text, hidden, { rsv1: true }),
    );
    assert.deepEqual(smuggled.kind === "refuse" && smuggled.closeCode, 1002);
    const reserved = await inspector().inspect.push(frame(11, "x"));
    assert.deepEqual(reserved.kind === "refuse" && reserved.closeCode, 1002);
    const pings = inspector();
    assert.equal((await pings.inspect.push(frame(OPCODE.ping, SECRET.slice(0, 10)))).kind, "forward");
    assert.equal((await pings.inspect.push(frame(OPCODE.ping, SECRET.slice(10)))).kind, "refuse");
  });

  it("negotiation: only permessage-deflate is offered upstream; anything else accepted is refused", () => {
    assert.equal(
      inspectableExtensions("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"),
      "permessage-deflate; client_max_window_bits",
    );
    assert.equal(inspectableExtensions("x-custom"), undefined);
    assert.deepEqual(acceptedDeflate("permessage-deflate; client_no_context_takeover"), {
      contextTakeover: false,
    });
    assert.deepEqual(acceptedDeflate("permessage-deflate"), { contextTakeover: true });
    assert.equal(acceptedDeflate(undefined), undefined);
    assert.ok(acceptedDeflate("x-custom") instanceof Error);
    const close = serverCloseFrame(1008, "r".repeat(200));
    assert.equal(close.length, 2 + 2 + 123);
    assert.equal(close.readUInt16BE(2), 1008);
  });
});
