/**
 * A minimal ustar writer for `docker cp - CONTAINER:DIR`: files built in memory become a tar
 * stream in memory, so secrets such as the per-bottle CA key never touch host disk. Only regular
 * files; missing parent directories are created by the engine on extraction. Parent directory
 * entries are deliberately not emitted: one for an existing directory (say `etc`) would reset
 * its mode and owner.
 */
import type { InMemoryFile } from "./engine.ts";

const BLOCK = 512;

export function tarFiles(files: readonly InMemoryFile[], mtime = new Date()): Buffer {
  const blocks: Buffer[] = [];
  const seconds = Math.floor(mtime.getTime() / 1000);
  for (const file of files) {
    const content = typeof file.content === "string" ? Buffer.from(file.content, "utf8") : file.content;
    blocks.push(header(file, content.length, seconds), content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

function header(file: InMemoryFile, size: number, mtime: number): Buffer {
  const { name, prefix } = splitPath(checkPath(file.path));
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, "utf8");
  writeOctal(block, 100, 8, file.mode ?? 0o644);
  writeOctal(block, 108, 8, file.uid ?? 0);
  writeOctal(block, 116, 8, file.gid ?? 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, mtime);
  block.write("        ", 148, 8, "ascii"); // checksum field counts as spaces while summing
  block.write("0", 156, 1, "ascii"); // regular file
  block.write("ustar\u000000", 257, 8, "ascii");
  block.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return block;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar: invalid numeric field ${value}`);
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new RangeError(`tar: value ${value} does not fit ${width} bytes`);
  block.write(`${digits.padStart(width - 1, "0")}\u0000`, offset, width, "ascii");
}

/** Relative, "/"-separated, no empty, "." or ".." segment: nothing can land outside the dir. */
function checkPath(path: string): string {
  const segments = path.split("/");
  if (path === "" || path.includes("\u0000") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new TypeError(
      `tar: path must be relative without empty, "." or ".." segments: ${JSON.stringify(path)}`,
    );
  }
  return path;
}

function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  // ustar: prefix (<=155 bytes) + "/" + name (<=100 bytes), split at a slash.
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(name) > 100) break;
    if (Buffer.byteLength(prefix) <= 155) return { name, prefix };
  }
  throw new RangeError(`tar: path too long for ustar: ${path}`);
}

/**
 * The content of the first regular file in a tar (what `docker cp CONTAINER:FILE -` returns for
 * one file), or undefined when there is none. Extended (pax) headers are skipped.
 */
export function firstTarFile(tar: Buffer): { name: string; content: Buffer } | undefined {
  for (let offset = 0; offset + BLOCK <= tar.length; ) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) return undefined;
    const field = (start: number, width: number) => {
      const bytes = block.subarray(start, start + width);
      const end = bytes.indexOf(0);
      return bytes.toString("utf8", 0, end === -1 ? width : end);
    };
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1);
    const start = offset + BLOCK;
    if (type === "0" || type === "") {
      const prefix = field(345, 155);
      const name = prefix === "" ? field(0, 100) : `${prefix}/${field(0, 100)}`;
      return { name, content: Buffer.from(tar.subarray(start, start + size)) };
    }
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return undefined;
}
