import { promisify } from "node:util";
import * as zlib from "node:zlib";

/**
 * Decodes a request body for DLP. Content-Encoding may list several codings (applied in order,
 * so decoded in reverse; RFC 9110 §8.4). Decoding runs on libuv's thread pool, not the event
 * loop, and stops at `maxBytes` of output (a zip bomb is refused, not inflated). Anything that
 * cannot be decoded is refused: DLP fails closed.
 */

export type DecodeResult =
  | { ok: true; data: Buffer }
  | { ok: false; reason: "undecodable" | "too-large"; detail: string };

type Decoder = (input: Buffer, options: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>;

const gunzip = promisify(zlib.gunzip) as Decoder;
const inflate = promisify(zlib.inflate) as Decoder;
const inflateRaw = promisify(zlib.inflateRaw) as Decoder;
const brotli = promisify(zlib.brotliDecompress) as Decoder;
const zstd: Decoder | undefined =
  typeof zlib.zstdDecompress === "function" ? (promisify(zlib.zstdDecompress) as Decoder) : undefined;

async function decodeOne(coding: string, input: Buffer, maxBytes: number): Promise<Buffer> {
  const options = { maxOutputLength: maxBytes };
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return gunzip(input, options);
    case "deflate":
      // "deflate" is zlib-wrapped by the RFC, but some clients send raw deflate.
      try {
        return await inflate(input, options);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") throw error;
        return inflateRaw(input, options);
      }
    case "br":
      return brotli(input, options);
    case "zstd":
      if (zstd === undefined) throw new Error("zstd unsupported");
      return zstd(input, options);
    default:
      throw new Error("unknown coding");
  }
}

export async function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<DecodeResult> {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  let data = body;
  for (const coding of codings.reverse()) {
    try {
      data = await decodeOne(coding, data, maxBytes);
    } catch (error) {
      const tooLarge =
        (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" ||
        (error instanceof RangeError && /length/i.test(error.message));
      return tooLarge
        ? { ok: false, reason: "too-large", detail: `decoded ${coding} body exceeds ${maxBytes} bytes` }
        : { ok: false, reason: "undecodable", detail: `content-encoding ${coding}` };
    }
  }
  if (data.length > maxBytes)
    return { ok: false, reason: "too-large", detail: `body exceeds ${maxBytes} bytes` };
  return { ok: true, data };
}

/** Magic bytes of the compressed formats a body may hide in, whatever its headers say. */
const MAGIC: readonly [(data: Buffer) => boolean, string][] = [
  [(data) => data[0] === 0x1f && data[1] === 0x8b, "gzip"],
  [(data) => data[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(data[1] ?? -1), "deflate"],
  [(data) => data.readUInt32BE(0) === 0x28b52ffd, "zstd"],
];

/**
 * The layers of a body that is compressed without saying so (no or another Content-Encoding):
 * each one that decodes, up to three deep. A layer that inflates past `maxBytes` is a refusal
 * (a bomb); one that does not decode was not compressed data after all.
 */
export async function sniffCompressed(data: Buffer, maxBytes: number): Promise<DecodeResult[]> {
  const layers: DecodeResult[] = [];
  let current = data;
  for (let depth = 0; depth < 3 && current.length >= 4; depth++) {
    const coding = MAGIC.find(([matches]) => matches(current))?.[1];
    if (coding === undefined) break;
    const decoded = await decodeBody(current, coding, maxBytes);
    if (!decoded.ok && decoded.reason === "undecodable") break;
    layers.push(decoded);
    if (!decoded.ok) break;
    current = decoded.data;
  }
  return layers;
}
