import { closeSync, constants, fstatSync, openSync, readSync, statSync } from "node:fs";
import { ManifestError } from "./errors.ts";

/** A manifest is a small text file; anything larger is not one. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Reads a manifest file as text, whatever sits at its path: a regular file (links followed) of at
 * most 1 MiB of UTF-8 without NUL bytes. Anything else — a FIFO, a device, a directory, a dangling
 * link, a link loop, an unreadable, oversized, binary or vanished file — is a ManifestError at
 * `file:1:1` saying what it is; nothing blocks and nothing large is allocated. A UTF-8 byte order
 * mark is dropped.
 */
export function readManifestText(file: string, shown: string): string {
  const fail = (problem: string): never => {
    throw new ManifestError({ file: shown, line: 1, column: 1 }, problem);
  };
  const explain = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fail("the file does not exist (a dangling link, or it was removed)");
    if (code === "ELOOP") return fail("the file is a loop of symbolic links");
    if (code === "EACCES" || code === "EPERM") return fail("the file cannot be read (permission denied)");
    return fail(`the file cannot be read (${code ?? "error"})`);
  };
  let fd: number;
  try {
    if (!statSync(file).isFile())
      fail("not a regular file (a directory, FIFO or device); a manifest is a text file");
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if (error instanceof ManifestError) throw error;
    return explain(error);
  }
  try {
    const info = fstatSync(fd);
    // Checked again on what was opened: the path may have been swapped since.
    if (!info.isFile()) fail("not a regular file (a directory, FIFO or device); a manifest is a text file");
    if (info.size > MAX_MANIFEST_BYTES)
      fail(`the file is larger than ${MAX_MANIFEST_BYTES / 1024} KiB; a manifest is a small text file`);
    const buffer = Buffer.alloc(Math.min(info.size, MAX_MANIFEST_BYTES) + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_MANIFEST_BYTES)
        fail(`the file is larger than ${MAX_MANIFEST_BYTES / 1024} KiB; a manifest is a small text file`);
      if (length === buffer.length) break;
    }
    const bytes = buffer.subarray(0, length);
    if (bytes.includes(0)) fail("the file is not text (it holds NUL bytes)");
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return fail("the file is not text (it is not valid UTF-8)");
    }
    return text.startsWith("\ufeff") ? text.slice(1) : text;
  } finally {
    closeSync(fd);
  }
}
