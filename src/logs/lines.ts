import { open } from "node:fs/promises";

/**
 * Lines of an append-only log file, read in chunks from `offset`: constant memory whatever the
 * file holds. A sidecar may be compromised, so a line longer than `maxLineBytes` (or one never
 * ended) is skipped and counted rather than buffered.
 */
export interface LineChunk {
  lines: string[];
  /** Where the next read starts: after the last complete line. */
  offset: number;
  /** Lines skipped for their length so far. */
  skipped: number;
}

const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 256 * 1024;

export async function* readLines(
  file: string,
  options: { offset?: number; maxLineBytes?: number } = {},
): AsyncGenerator<LineChunk> {
  const maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch {
    return; // not there (yet): nothing to read
  }
  try {
    if (!(await handle.stat()).isFile()) return;
    let offset = options.offset ?? 0;
    let position = offset;
    let carry: Buffer[] = [];
    let carried = 0;
    let skipping = false;
    let skipped = 0;
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      const lines: string[] = [];
      let start = 0;
      for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, newline);
        if (skipping || carried + piece.length > maxLine) skipped++;
        else lines.push(Buffer.concat([...carry, piece]).toString("utf8"));
        carry = [];
        carried = 0;
        skipping = false;
        start = newline + 1;
        offset = position - bytesRead + start;
      }
      const rest = chunk.subarray(start);
      if (!skipping && carried + rest.length > maxLine) {
        skipping = true;
        carry = [];
        carried = 0;
      } else if (!skipping && rest.length > 0) {
        carry.push(Buffer.from(rest));
        carried += rest.length;
      }
      yield { lines, offset, skipped };
    }
  } finally {
    await handle.close();
  }
}

/**
 * The last lines of a file, at most `tailBytes` from its end (the dashboard's traffic pane): the
 * first, probably cut, line is dropped.
 */
export async function tailLines(file: string, tailBytes = 64 * 1024): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch {
    return [];
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return [];
    const start = Math.max(0, stat.size - tailBytes);
    const buffer = Buffer.alloc(Math.min(tailBytes, stat.size));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.subarray(0, bytesRead).toString("utf8").split("\n");
    lines.pop(); // after the last newline: an unfinished line, or nothing
    return start > 0 ? lines.slice(1) : lines;
  } finally {
    await handle.close();
  }
}
