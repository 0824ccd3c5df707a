/**
 * WebSocket frames from the client (RFC 6455 §5), read so that every message the agent sends is
 * scanned before a byte of it reaches the upstream. Messages are reassembled from their fragments
 * (and inflated when permessage-deflate is in use, RFC 7692) and scanned whole, with the tail of
 * the previous message prepended, so a secret split across frames or messages is still whole.
 * The raw frames of a message are held until it is scanned, then forwarded unchanged; control
 * frames (close, ping, pong) are scanned and forwarded at once. Pure: no sockets here.
 */
import { constants, inflateRawSync } from "node:zlib";

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;
/** Close codes this proxy sends (RFC 6455 §7.4.1). */
export const CLOSE = { policy: 1008, tooBig: 1009, protocol: 1002, unsupported: 1003 } as const;

/** What follows a message into the next scan: a secret split across two messages stays whole. */
const CARRY_CHARS = 512;
/** The most a permessage-deflate back-reference can reach (RFC 7692: up to 2^15). */
const WINDOW_BYTES = 32 * 1024;
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

class FrameError extends Error {
  readonly closeCode: number;
  constructor(closeCode: number, message: string) {
    super(message);
    this.closeCode = closeCode;
  }
}

interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  /** Unmasked. */
  payload: Buffer;
  /** The frame's bytes as received (masked): what is forwarded. */
  raw: Buffer;
}

/** What the negotiated permessage-deflate means for the client's messages. */
export interface DeflateTerms {
  /** The client keeps its compression window across messages (no client_no_context_takeover). */
  contextTakeover: boolean;
}

/** What a scan refused: a code and rule as the proxy's refusals carry them. */
interface ScanRefusal {
  code: string;
  rule: string;
}

export type Inspected =
  | { kind: "forward"; bytes: Buffer[] }
  | { kind: "refuse"; closeCode: number; reason: string; refusal?: ScanRefusal };

export interface InspectorOptions {
  maxMessageBytes: number;
  /** undefined: permessage-deflate was not negotiated (RSV1 is then a protocol error). */
  deflate: DeflateTerms | undefined;
  /** Scans a message's text; resolves to the refusal, or undefined when clean. */
  scan: (text: string) => Promise<ScanRefusal | undefined>;
}

/**
 * Reads the client's byte stream; `push` returns what may go upstream now, or why the socket must
 * close. Call `push` for one chunk at a time (each after the previous one resolved).
 */
export class ClientFrameInspector {
  readonly #options: InspectorOptions;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  /** The message being reassembled: its raw frames and payloads. */
  #message:
    | { opcode: number; compressed: boolean; raw: Buffer[]; payload: Buffer[]; bytes: number }
    | undefined;
  /** Decompressed history for the next message's inflate dictionary (context takeover). */
  #window = Buffer.alloc(0);
  #carry = "";

  constructor(options: InspectorOptions) {
    this.#options = options;
  }

  async push(chunk: Buffer): Promise<Inspected> {
    this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.length;
    const forward: Buffer[] = [];
    try {
      for (let frame = this.#nextFrame(); frame !== undefined; frame = this.#nextFrame()) {
        const verdict = await this.#onFrame(frame);
        if (verdict.kind === "refuse") return verdict;
        forward.push(...verdict.bytes);
      }
    } catch (error) {
      if (error instanceof FrameError)
        return { kind: "refuse", closeCode: error.closeCode, reason: error.message };
      throw error;
    }
    return { kind: "forward", bytes: forward };
  }

  /** The next whole frame in the buffer, or undefined until more bytes arrive. */
  #nextFrame(): Frame | undefined {
    if (this.#bufferedBytes < 2) return undefined;
    const data = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered);
    this.#buffered = [data];
    const first = data[0]!;
    const second = data[1]!;
    if ((second & 0x80) === 0) throw new FrameError(CLOSE.protocol, "a client frame must be masked");
    if ((first & 0x30) !== 0) throw new FrameError(CLOSE.protocol, "RSV2/RSV3 set without an extension");
    let length = second & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.length < 4) return undefined;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.length < 10) return undefined;
      const big = data.readBigUInt64BE(2);
      if (big > BigInt(this.#options.maxMessageBytes))
        throw new FrameError(CLOSE.tooBig, `a frame over ${this.#options.maxMessageBytes} bytes`);
      length = Number(big);
      offset = 10;
    }
    if (length > this.#options.maxMessageBytes)
      throw new FrameError(CLOSE.tooBig, `a frame over ${this.#options.maxMessageBytes} bytes`);
    const end = offset + 4 + length;
    if (data.length < end) return undefined;
    const mask = data.subarray(offset, offset + 4);
    const payload = Buffer.from(data.subarray(offset + 4, end));
    for (let index = 0; index < payload.length; index++) payload[index]! ^= mask[index & 3]!;
    const raw = data.subarray(0, end);
    const rest = data.subarray(end);
    this.#buffered = rest.length ? [rest] : [];
    this.#bufferedBytes = rest.length;
    return { fin: (first & 0x80) !== 0, rsv1: (first & 0x40) !== 0, opcode: first & 0x0f, payload, raw };
  }

  async #onFrame(frame: Frame): Promise<Inspected> {
    if (frame.opcode >= 8) {
      if (frame.opcode > OPCODE.pong)
        throw new FrameError(CLOSE.protocol, `a reserved opcode ${frame.opcode}`);
      if (!frame.fin || frame.payload.length > 125 || frame.rsv1)
        throw new FrameError(CLOSE.protocol, "a malformed control frame");
      // A close frame's reason (after its 2-byte code) and ping/pong data are text the agent
      // chose: scanned with the carry-over too, so a secret split across pings stays whole.
      const text = (frame.opcode === OPCODE.close ? frame.payload.subarray(2) : frame.payload).toString(
        "latin1",
      );
      const refusal = await this.#options.scan(this.#carry + text);
      if (refusal !== undefined) return secret(refusal);
      this.#carry = (this.#carry + text).slice(-CARRY_CHARS);
      return { kind: "forward", bytes: [frame.raw] };
    }
    if (frame.opcode === OPCODE.continuation) {
      if (this.#message === undefined)
        throw new FrameError(CLOSE.protocol, "a continuation frame with no message");
      if (frame.rsv1) throw new FrameError(CLOSE.protocol, "RSV1 on a continuation frame");
    } else if (frame.opcode === OPCODE.text || frame.opcode === OPCODE.binary) {
      if (this.#message !== undefined)
        throw new FrameError(CLOSE.protocol, "a new message inside a fragmented one");
      if (frame.rsv1 && this.#options.deflate === undefined)
        throw new FrameError(CLOSE.protocol, "a compressed frame without permessage-deflate");
      this.#message = { opcode: frame.opcode, compressed: frame.rsv1, raw: [], payload: [], bytes: 0 };
    } else {
      throw new FrameError(CLOSE.protocol, `an unknown opcode ${frame.opcode}`);
    }
    const message = this.#message;
    message.raw.push(frame.raw);
    message.payload.push(frame.payload);
    message.bytes += frame.payload.length;
    if (message.bytes > this.#options.maxMessageBytes)
      throw new FrameError(CLOSE.tooBig, `a message over ${this.#options.maxMessageBytes} bytes`);
    if (!frame.fin) return { kind: "forward", bytes: [] };
    this.#message = undefined;
    const data = message.compressed
      ? this.#inflate(Buffer.concat(message.payload))
      : Buffer.concat(message.payload);
    // Binary as latin1: every byte one character, so ASCII secrets stay whole and nothing merges.
    const text = data.toString(message.opcode === OPCODE.text ? "utf8" : "latin1");
    const refusal = await this.#options.scan(this.#carry + text);
    if (refusal !== undefined) return secret(refusal);
    this.#carry = (this.#carry + text).slice(-CARRY_CHARS);
    return { kind: "forward", bytes: message.raw };
  }

  #inflate(compressed: Buffer): Buffer {
    const deflate = this.#options.deflate!;
    let data: Buffer;
    const input = Buffer.concat([compressed, DEFLATE_TAIL]);
    try {
      const result = inflateRawSync(input, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: this.#options.maxMessageBytes,
        info: true,
        ...(deflate.contextTakeover && this.#window.length ? { dictionary: this.#window } : {}),
      }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      // Inflate stops at the end of the deflate stream: bytes after it would reach the upstream
      // in the forwarded frames without ever being scanned.
      if (result.engine.bytesWritten < compressed.length)
        throw new FrameError(CLOSE.protocol, "bytes after the end of a compressed message");
      data = result.buffer;
    } catch (error) {
      if (error instanceof FrameError) throw error;
      if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
        throw new FrameError(
          CLOSE.tooBig,
          `a message that inflates over ${this.#options.maxMessageBytes} bytes`,
        );
      throw new FrameError(CLOSE.protocol, "a compressed message that does not inflate");
    }
    if (deflate.contextTakeover) {
      const joined = Buffer.concat([this.#window, data]);
      this.#window = joined.subarray(Math.max(0, joined.length - WINDOW_BYTES));
    }
    return data;
  }
}

function secret(refusal: ScanRefusal): Inspected {
  return { kind: "refuse", closeCode: CLOSE.policy, reason: refusal.rule, refusal };
}

/** A close frame as a server sends it (unmasked); the reason is cut to fit 123 bytes. */
export function serverCloseFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason).subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat([Buffer.from([0x88, payload.length]), payload]);
}

/** A close frame as a client sends it (masked, RFC 6455 §5.3), to end the upstream side. */
export function clientCloseFrame(code: number, mask: Buffer): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code, 0);
  for (let index = 0; index < 2; index++) payload[index]! ^= mask[index]!;
  return Buffer.concat([Buffer.from([0x88, 0x80 | 2]), mask.subarray(0, 4), payload]);
}

/**
 * The client's Sec-WebSocket-Extensions offer, reduced to what the inspector can read:
 * permessage-deflate offers only (undefined when none is left).
 */
export function inspectableExtensions(offer: string | undefined): string | undefined {
  if (offer === undefined) return undefined;
  const kept = offer
    .split(",")
    .map((part) => part.trim())
    .filter((part) => /^permessage-deflate(\s*;|$)/i.test(part));
  return kept.length ? kept.join(", ") : undefined;
}

/**
 * What the upstream's 101 accepted: permessage-deflate terms, undefined for none, or an error
 * when it accepted anything else (the inspector could not read those frames).
 */
export function acceptedDeflate(accepted: string | undefined): DeflateTerms | undefined | Error {
  if (accepted === undefined || accepted.trim() === "") return undefined;
  const extensions = accepted.split(",").map((part) => part.trim());
  if (extensions.length !== 1 || !/^permessage-deflate(\s*;|$)/i.test(extensions[0]!))
    return new Error(`the upstream accepted extensions the proxy cannot inspect: ${accepted.slice(0, 100)}`);
  const params = extensions[0]!
    .split(";")
    .slice(1)
    .map((param) => param.trim().toLowerCase().split("=")[0]);
  return { contextTakeover: !params.includes("client_no_context_takeover") };
}
