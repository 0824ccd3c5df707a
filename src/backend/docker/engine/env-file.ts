/**
 * Container environments reach the docker CLI through `--env-file`, never through its argv (any
 * local user's `ps` reads that) nor its own environment: a value placed there would steer the
 * CLI itself (LD_PRELOAD, DOCKER_HOST, GCONV_PATH ... are read by the CLI and its loader before
 * it looks at a single flag). The file lives in a fresh 0700 directory and is gone when the
 * command ends; the CLI runs with the user's own environment, untouched.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * The docker CLI reads the file line by line: a line break would end the value (and start a new
 * variable), a NUL ends it early. Lines are read with a 64 KiB buffer.
 */
const UNSAFE_VALUE = /[\n\r\0]/;
const MAX_LINE_BYTES = 60 * 1024;

/** The env file's text: one `NAME=VALUE` a line. A name or value that cannot be carried throws. */
export function envFileText(env: Readonly<Record<string, string>>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name))
      throw new TypeError(`Invalid environment variable name: ${JSON.stringify(name)}`);
    if (UNSAFE_VALUE.test(value))
      throw new TypeError(
        `Environment variable ${name}: a value with a line break or NUL cannot be passed to a container`,
      );
    const line = `${name}=${value}`;
    if (Buffer.byteLength(line) > MAX_LINE_BYTES)
      throw new TypeError(`Environment variable ${name}: its value is over ${MAX_LINE_BYTES} bytes`);
    lines.push(line);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * Runs `use` with the path of an env file holding `env` (undefined when there is nothing to set),
 * and removes it afterwards, whatever `use` did.
 */
export async function withEnvFile<T>(
  env: Readonly<Record<string, string>> | undefined,
  use: (path: string | undefined) => Promise<T>,
): Promise<T> {
  if (env === undefined || Object.keys(env).length === 0) return use(undefined);
  const text = envFileText(env);
  const dir = await mkdtemp(join(tmpdir(), "claude-bottle-env-"));
  try {
    const file = join(dir, "env");
    await writeFile(file, text, { mode: 0o600, flag: "wx" });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
