import { readFile } from "node:fs/promises";
import { type GateConfig, type GateRemote, gateConfigSchema } from "../../contracts/git-gate.ts";

export class GateConfigError extends Error {
  readonly code = "E_GIT_GATE_CONFIG";
}

/** Parses a config text; throws GateConfigError naming key paths only. */
function parseGateConfig(text: string, source: string): GateConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new GateConfigError(`git-gate config ${source} is not valid JSON`);
  }
  const parsed = gateConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `  ${issue.path.length ? issue.path.map(String).join(".") : "(root)"}: ${issue.message}`,
    );
    throw new GateConfigError(`invalid git-gate config ${source}:\n${issues.join("\n")}`);
  }
  return parsed.data;
}

export async function loadGateConfig(file: string): Promise<GateConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new GateConfigError(
      `cannot read git-gate config ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return parseGateConfig(text, file);
}

/** The remote served from `<state_dir>/repos/<name>.git`, by the repository's directory name. */
export function remoteForRepo(config: GateConfig, repoDir: string): GateRemote | undefined {
  const base = repoDir.replace(/\/+$/, "").split("/").pop() ?? "";
  return config.remotes.find((remote) => `${remote.name}.git` === base);
}
