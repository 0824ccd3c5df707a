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
