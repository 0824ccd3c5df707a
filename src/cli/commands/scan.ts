import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import type { Finding } from "../../lib/scanner/index.ts";
import { errorMessage, UserError } from "../../lib/user-error.ts";

export type ScanFormat = "text" | "json";

export interface ScanIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  readStdin: () => Promise<string>;
}

/**
 * Exit codes of `scan`, distinct from each other and from the CLI's own 1 (failure of the system)
 * and 2 (bad input: an unknown option): docs/scanner.md lists them.
 */
const SCAN_EXIT = { clean: 0, found: 3, incomplete: 4 } as const;

/** What one scan reads at most from one file or from stdin. */
const SCAN_MAX_BYTES = 64 * 1024 * 1024;

export function registerScanCommand(program: Command): void {
  program
    .command("scan")
    .description(
      "Scan files, directories (recursively) or stdin (`-`, or no path) for secrets; exit 3 when any is found, 4 when something could not be scanned",
    )
    .argument("[paths...]", "files or directories; `-` or none: stdin")
    .option("--format <format>", "text (readable) or json (one object per line per finding)", "text")
    .action(async (paths: string[], options: { format: string }) => {
      if (options.format !== "text" && options.format !== "json") {
        throw new UserError(
          `--format must be text or json, not ${JSON.stringify(options.format.slice(0, 20))}`,
        );
      }
      process.exitCode = await runScan(paths, options.format, {
        stdout: process.stdout,
        stderr: process.stderr,
        readStdin: () => readStream(process.stdin, SCAN_MAX_BYTES),
      });
    });
}

interface Skipped {
  binary: number;
  git: number;
  links: number;
  special: number;
}

/** Returns the exit code (SCAN_EXIT): secrets found wins over an incomplete scan. */
export async function runScan(paths: readonly string[], format: ScanFormat, io: ScanIo): Promise<number> {
  // The rules compile on import: loaded here, so other commands do not pay for them.
  const { scan } = await import("../../lib/scanner/index.ts");
  let found = 0;
  let failed = 0;
  let scanned = 0;
  const skipped: Skipped = { binary: 0, git: 0, links: 0, special: 0 };
  const fail = (message: string) => {
    failed++;
    io.stderr.write(`claude-bottle scan: ${message}\n`);
  };
  const report = (path: string, findings: readonly Finding[]) => {
    scanned++;
    found += findings.length;
    for (const finding of findings) io.stdout.write(render(path, finding, format));
  };
  const fromStdin = async () => {
    try {
      report("<stdin>", scan(await io.readStdin()));
    } catch (error) {
      fail(`<stdin>: ${errorMessage(error)}`);
    }
  };
  if (paths.length === 0) await fromStdin();
  for (const path of paths) {
    if (path === "-") {
      await fromStdin();
      continue;
    }
    for (const file of filesUnder(path, fail, skipped)) {
      const text = readText(file, fail);
      if (text === "binary") skipped.binary++;
      else if (text !== undefined) report(file, scan(text));
    }
  }
  if (format === "text") {
    const notes = [
      skipped.binary && `${skipped.binary} binary`,
      skipped.git && `${skipped.git} .git dir${skipped.git === 1 ? "" : "s"}`,
      skipped.links &&
        `${skipped.links} link${skipped.links === 1 ? "" : "s"} (not followed inside directories)`,
      skipped.special && `${skipped.special} special file${skipped.special === 1 ? "" : "s"}`,
    ].filter(Boolean);
    io.stderr.write(
      `scanned ${scanned} file${scanned === 1 ? "" : "s"}${notes.length ? `; skipped ${notes.join(", ")}` : ""}; ${found} secret${found === 1 ? "" : "s"} found${failed ? `; ${failed} could not be scanned` : ""}\n`,
    );
  }
  return found > 0 ? SCAN_EXIT.found : failed > 0 ? SCAN_EXIT.incomplete : SCAN_EXIT.clean;
}

function render(path: string, finding: Finding, format: ScanFormat): string {
  if (format === "json") {
    return `${JSON.stringify({
      path,
      line: finding.line,
      column: finding.column,
      rule: finding.ruleId,
      description: finding.description,
      excerpt: finding.excerpt,
    })}\n`;
  }
  const where = pc.bold(`${path}:${finding.line}:${finding.column}`);
  return `${where}  ${pc.red(finding.ruleId)}  ${finding.description}  ${pc.dim(finding.excerpt)}\n`;
}

/**
 * Regular files to scan. A path named on the command line is followed when it is a link (the user
 * named it); inside directories links are counted, not followed (no loops, no escapes), and `.git`
 * is skipped (its objects are compressed: scanning finds nothing and costs the most). FIFOs,
 * devices and sockets are never opened: a named one is an error, one found while walking is counted.
 */
function* filesUnder(
  path: string,
  fail: (message: string) => void,
  skipped: Skipped,
  named = true,
): Generator<string> {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = named ? statSync(path) : lstatSync(path);
  } catch (error) {
    fail(`${path}: ${describeError(error)}`);
    return;
  }
  if (stat.isSymbolicLink()) {
    skipped.links++;
    return;
  }
  if (stat.isFile()) {
    yield path;
    return;
  }
  if (!stat.isDirectory()) {
    if (named) fail(`${path}: not a regular file (a FIFO, device or socket is not read)`);
    else skipped.special++;
    return;
  }
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (error) {
    fail(`${path}: ${describeError(error)}`);
    return;
  }
  for (const name of names) {
    if (name === ".git") {
      skipped.git++;
      continue;
    }
    yield* filesUnder(join(path, name), fail, skipped, false);
  }
}

function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ELOOP") return "a loop of symbolic links";
  return `cannot be read (${code ?? "error"})`;
}

/** Text content, "binary" (a NUL byte in the first 8 KiB, as git decides), or undefined on failure. */
function readText(file: string, fail: (message: string) => void): string | "binary" | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile()) {
      fail(`${file}: not a regular file (a FIFO, device or socket is not read)`);
      return undefined;
    }
    if (info.size > SCAN_MAX_BYTES) {
      fail(`${file}: larger than ${SCAN_MAX_BYTES / (1 << 20)} MiB; not scanned`);
      return undefined;
    }
    const bytes = readFileSync(fd);
    return bytes.subarray(0, 8192).includes(0) ? "binary" : bytes.toString("utf8");
  } catch (error) {
    fail(`${file}: ${describeError(error)}`);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The whole stream as text, or an error past `maxBytes` (an endless stdin must not exhaust memory). */
async function readStream(stream: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > maxBytes) {
      (stream as NodeJS.ReadStream).destroy?.();
      throw new Error(`larger than ${maxBytes / (1 << 20)} MiB; not scanned (scan files instead)`);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString("utf8");
}
