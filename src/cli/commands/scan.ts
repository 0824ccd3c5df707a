import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import type { Finding } from "../../lib/scanner/index.ts";
import { UserError } from "../user-error.ts";

export type ScanFormat = "text" | "json";

export interface ScanIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  readStdin: () => Promise<string>;
}

export function registerScanCommand(program: Command): void {
  program
    .command("scan")
    .description("Scan files, directories (recursively) or stdin for secrets; exit 1 when any is found")
    .argument("[paths...]", "files or directories; stdin when none")
    .option("--format <format>", "text (readable) or json (one object per line per finding)", "text")
    .action(async (paths: string[], options: { format: string }) => {
      if (options.format !== "text" && options.format !== "json") {
        throw new UserError(`--format must be text or json, not ${JSON.stringify(options.format)}`);
      }
      process.exitCode = await runScan(paths, options.format, {
        stdout: process.stdout,
        stderr: process.stderr,
        readStdin: () => readStream(process.stdin),
      });
    });
}

/** Returns the exit code: 0 clean, 1 findings, 2 when something could not be scanned. */
export async function runScan(paths: readonly string[], format: ScanFormat, io: ScanIo): Promise<number> {
  // The rules compile on import: loaded here, so other commands do not pay for them.
  const { scan } = await import("../../lib/scanner/index.ts");
  let found = 0;
  let failed = 0;
  const report = (path: string, findings: readonly Finding[]) => {
    found += findings.length;
    for (const finding of findings) io.stdout.write(render(path, finding, format));
  };
  if (paths.length === 0) {
    report("<stdin>", scan(await io.readStdin()));
  } else {
    for (const path of paths) {
      for (const file of filesUnder(path, (message) => {
        failed++;
        io.stderr.write(`claude-bottle scan: ${message}\n`);
      })) {
        const text = readText(file);
        if (text !== null) report(file, scan(text));
      }
    }
  }
  if (format === "text" && found > 0) io.stderr.write(`${found} secret${found === 1 ? "" : "s"} found\n`);
  return failed > 0 ? 2 : found > 0 ? 1 : 0;
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

/** Regular files under `path`, depth first; symlinks are not followed (no loops, no escapes). */
function* filesUnder(path: string, fail: (message: string) => void): Generator<string> {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(path);
  } catch (error) {
    fail(`${path}: ${(error as NodeJS.ErrnoException).code ?? "cannot read"}`);
    return;
  }
  if (stat.isFile()) {
    yield path;
    return;
  }
  if (!stat.isDirectory()) return;
  let names: string[];
  try {
    names = readdirSync(path).sort();
  } catch (error) {
    fail(`${path}: ${(error as NodeJS.ErrnoException).code ?? "cannot list"}`);
    return;
  }
  for (const name of names) {
    // Git's object store is compressed: scanning it finds nothing and costs the most.
    if (name === ".git") continue;
    yield* filesUnder(join(path, name), fail);
  }
}

/** Text content, or null for binary files (a NUL byte in the first 8 KiB, as git decides). */
function readText(file: string): string | null {
  const bytes = readFileSync(file);
  if (bytes.subarray(0, 8192).includes(0)) return null;
  return bytes.toString("utf8");
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}
