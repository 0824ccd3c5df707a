/**
 * A real bottle for integration tests, launched by the real CLI (`start --yes --detach`) from
 * manifests written into a throwaway CLAUDE_BOTTLE_HOME; `exec` runs in its agent as the agent's
 * user; disposing it stops the bottle and removes the home.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, runCliAsync } from "./run-cli.ts";
import { manifest, type TempHome, tempHome } from "./temp-home.ts";

export interface TestBottle extends AsyncDisposable {
  instance: string;
  fixture: TempHome;
  /** stderr of `start` (the CA fingerprint, the plan). */
  startStderr: string;
  /** `sh -c COMMAND` in the agent. */
  exec(command: string): Promise<CliResult>;
  /** An argv in the agent, without a shell (e.g. `node -e SCRIPT`). */
  execArgv(argv: readonly string[]): Promise<CliResult>;
  /** `docker` name of one of the bottle's containers: agent, egress-proxy, cred-proxy, git-gate. */
  container(role: string): string;
  /** The egress proxy's audit log, one object per line. */
  audit(): AuditLine[];
  stop(): Promise<void>;
}

export interface AuditLine {
  kind: string;
  host?: string;
  port?: number;
  decision?: string;
  code?: string;
  rule?: string;
  path?: string;
}

export interface LaunchOptions {
  /** Frontmatter of the bottle manifest (YAML, without the `---` fences), given the home dir. */
  bottle: string | ((home: string) => string);
  /** Host environment variables the manifest reads (`${VAR}`, token_ref). */
  env?: NodeJS.ProcessEnv;
  /** Files to write under the home dir before launch (e.g. keys), path → text. */
  files?: Record<string, string>;
}

export async function launchBottle(options: LaunchOptions): Promise<TestBottle> {
  const fixture = tempHome();
  for (const [path, text] of Object.entries(options.files ?? {})) fixture.write(path, text);
  fixture.write(
    "bottles/attacked.md",
    manifest(typeof options.bottle === "string" ? options.bottle : options.bottle(fixture.home)),
  );
  fixture.write("agents/attacker.md", manifest("bottle: attacked", "Try to get out."));
  const env = { ...options.env, CLAUDE_BOTTLE_HOME: fixture.home };
  const run = (args: string[]) => runCliAsync(args, { env, cwd: fixture.project });
  const started = await run(["start", "attacker", "--yes", "--detach"]);
  const instance = started.stdout.trim();
  if (started.status !== 0 || !/^attacker-[0-9a-f]{8}$/.test(instance)) {
    if (instance) await run(["stop", instance]);
    fixture[Symbol.dispose]();
    throw new Error(`start failed (${started.status}): ${started.stderr}`);
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await run(["stop", instance]);
    fixture[Symbol.dispose]();
  };
  return {
    instance,
    fixture,
    startStderr: started.stderr,
    exec: (command) => run(["exec", instance, "--", "sh", "-c", command]),
    execArgv: (argv) => run(["exec", instance, "--", ...argv]),
    container: (role) => `cb-${instance}-${role}`,
    audit: () =>
      readFileSync(join(fixture.home, "logs", instance, "egress", "egress-audit.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditLine),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** The docker0 address: host services listening on 0.0.0.0 are reachable there (host-gateway). */
export { bridgeGateway } from "../../src/cli/demo/git-upstream.ts";
