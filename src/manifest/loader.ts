import { existsSync, lstatSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { UserError } from "../lib/user-error.ts";
import { DEFAULT_AGENT_TEXT, defaultBottleText } from "./defaults.ts";
import { classifyEnvValue } from "./env-value.ts";
import { ManifestError, type SourcePosition } from "./errors.ts";
import { type FrontmatterFile, parseFrontmatter } from "./frontmatter.ts";
import { type ManifestDirs, manifestDirs } from "./paths.ts";
import { readManifestText } from "./read-manifest.ts";
import {
  type AgentManifestData,
  agentSchema,
  type BottleManifestData,
  bottleSchema,
  MANIFEST_NAME,
} from "./schema.ts";
import { validateFrontmatter } from "./validate.ts";

export type ManifestOrigin = "home" | "project" | "built-in";

interface ManifestRef {
  name: string;
  /** Absolute path, or `<built-in>`. */
  file: string;
  origin: ManifestOrigin;
}

interface LoadedManifest extends ManifestRef {
  /** Where a key path sits in the file, for errors found after validation. */
  locate(path: readonly (string | number)[]): SourcePosition;
}

export interface BottleManifest extends LoadedManifest {
  kind: "bottle";
  data: BottleManifestData;
}

export interface AgentManifest extends LoadedManifest {
  kind: "agent";
  data: AgentManifestData;
  /** The Markdown body: the agent's prompt (may be empty). */
  prompt: string;
}

export const BUILT_IN_FILE = "<built-in>";

/**
 * The manifests visible from a working directory. Files are found eagerly and parsed on demand,
 * so one broken manifest does not stop an unrelated agent from starting.
 */
export class ManifestCatalog {
  readonly dirs: ManifestDirs;
  readonly warnings: string[] = [];
  readonly #bottles = new Map<string, ManifestRef>();
  readonly #agents = new Map<string, ManifestRef>();
  /** Names defined in two places: using that name fails, naming both files; nothing else does. */
  readonly #twice = new Map<string, string>();

  constructor(options: { env: NodeJS.ProcessEnv; cwd: string }) {
    this.dirs = manifestDirs(options.env, options.cwd);
    this.#discover(this.dirs.homeBottles, "home", this.#bottles);
    this.#discover(this.dirs.homeAgents, "home", this.#agents);
    if (this.dirs.projectAgents !== this.dirs.homeAgents) {
      this.#discover(this.dirs.projectAgents, "project", this.#agents);
      if (existsSync(this.dirs.projectBottles)) {
        this.warnings.push(
          `ignoring ${this.dirs.projectBottles}: bottles are read only from ${this.dirs.homeBottles}, so a repository cannot widen its own sandbox; move the file there if you trust it`,
        );
      }
    }
    if (!this.#bottles.has("default"))
      this.#bottles.set("default", { name: "default", file: BUILT_IN_FILE, origin: "built-in" });
    if (!this.#agents.has("default"))
      this.#agents.set("default", { name: "default", file: BUILT_IN_FILE, origin: "built-in" });
  }

  bottleNames(): string[] {
    return [...this.#bottles.keys()].sort();
  }

  agentNames(): string[] {
    return [...this.#agents.keys()].sort();
  }

  refOf(kind: "agent" | "bottle", name: string): ManifestRef | undefined {
    return (kind === "agent" ? this.#agents : this.#bottles).get(name);
  }

  bottle(name: string): BottleManifest {
    const ref = this.#bottles.get(name);
    if (!ref) {
      throw new UserError(
        `no bottle named \`${name}\`: create ${join(this.dirs.homeBottles, `${name}.md`)} (\`claude-bottle init\` writes an example); known bottles: ${this.bottleNames().join(", ")}`,
      );
    }
    const text =
      ref.origin === "built-in" ? defaultBottleText() : readManifestText(ref.file, displayPath(ref.file));
    const source = parseFrontmatter(displayPath(ref.file), text);
    return {
      ...ref,
      kind: "bottle",
      data: validateFrontmatter(source, bottleSchema),
      locate: locator(source),
    };
  }

  agent(name: string): AgentManifest {
    const twice = this.#twice.get(name);
    if (twice !== undefined) throw new UserError(twice);
    const ref = this.#agents.get(name);
    if (!ref) {
      throw new UserError(
        `no agent named \`${name}\`: create ${join(this.dirs.homeAgents, `${name}.md`)} or ./.claude-bottle/agents/${name}.md; known agents: ${this.agentNames().join(", ")}`,
      );
    }
    const text =
      ref.origin === "built-in" ? DEFAULT_AGENT_TEXT : readManifestText(ref.file, displayPath(ref.file));
    const source = parseFrontmatter(displayPath(ref.file), text);
    const data = validateFrontmatter(source, agentSchema);
    const locate = locator(source);
    if (ref.origin === "project") checkProjectAgentEnv(data, locate);
    if (!this.#bottles.has(data.bottle)) {
      throw new ManifestError(
        locate(["bottle"]),
        `agent names bottle \`${data.bottle}\`, which does not exist; create ${join(this.dirs.homeBottles, `${data.bottle}.md`)} or pick one of: ${this.bottleNames().join(", ")}`,
      );
    }
    return { ...ref, kind: "agent", data, prompt: source.body.trim(), locate };
  }

  #discover(dir: string, origin: ManifestOrigin, into: Map<string, ManifestRef>): void {
    const linked = origin === "project" ? linkedDir(dir) : undefined;
    if (linked !== undefined) {
      this.warnings.push(
        `ignoring ${dir}: ${linked} is a symbolic link; a project's manifests must be files in the project`,
      );
      return;
    }
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries.sort()) {
      if (!entry.endsWith(".md")) continue;
      const name = entry.slice(0, -3);
      const file = join(dir, entry);
      if (origin === "project" && !isRegularFile(file)) {
        this.warnings.push(
          `ignoring ${file}: a project's manifest must be a regular file in the project, not a link or a special file`,
        );
        continue;
      }
      if (!MANIFEST_NAME.test(name)) {
        this.warnings.push(
          `ignoring ${file}: a manifest's file name is its key and must match [a-z][a-z0-9-]*.md`,
        );
        continue;
      }
      const existing = into.get(name);
      if (existing) {
        this.#twice.set(
          name,
          `agent \`${name}\` is defined twice: ${existing.file} and ${file}; rename or remove one of them`,
        );
        continue;
      }
      into.set(name, { name, file, origin });
    }
  }
}

/**
 * Names that make every program in the agent load or run code nobody chose: the dynamic loader's
 * and the interpreters' start-up hooks, and the variables that redirect git and the shells. From
 * the user's own manifests they are allowed (they stay in the agent container either way: no
 * manifest value enters a host process, see backend/docker/engine/env-file.ts); from a repository they are refused.
 */
const PROJECT_AGENT_REFUSED_ENV =
  /^(LD_\w+|DYLD_\w+|GCONV_PATH|GETCONF_DIR|HOSTALIASES|LOCPATH|NLSPATH|MALLOC_\w+|GLIBC_TUNABLES|NODE_OPTIONS|NODE_PATH|NODE_REPL_EXTERNAL_MODULE|BASH_ENV|ENV|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|IFS|CDPATH|PATH|HOME|SHELL|PYTHON\w+|PERL5?\w*|RUBY\w+|GEM_\w+|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|GIT_\w+|SSH_\w+|EDITOR|VISUAL|PAGER|LESS\w*|CLAUDE_\w+|ANTHROPIC_\w+|XDG_\w+|ZDOTDIR|INPUTRC|BROWSER|npm_config_\w+|NPM_CONFIG_\w+)$/;

/**
 * What an agent from a project directory may put in the agent's environment: literals and asked
 * values, not copies of host variables (a cloned repository could otherwise read any secret of the
 * user's shell into the agent) nor the loader and start-up hooks above.
 */
function checkProjectAgentEnv(data: AgentManifestData, locate: LoadedManifest["locate"]): void {
  for (const [name, value] of Object.entries(data.env)) {
    if (classifyEnvValue(value).kind === "host") {
      throw new ManifestError(
        locate(["env", name]),
        `\`env.${name}\` copies a host variable, which agents from a project directory may not do; move this agent to ~/.claude-bottle/agents/ or put the variable in its bottle`,
      );
    }
    if (PROJECT_AGENT_REFUSED_ENV.test(name)) {
      throw new ManifestError(
        locate(["env", name]),
        `\`env.${name}\` is a loader, shell or tool start-up variable, which agents from a project directory may not set (a repository must not choose code that every program in the bottle runs); if you trust it, move this agent to ~/.claude-bottle/agents/ or set it in the bottle`,
      );
    }
  }
}

function isRegularFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first of `dir` and its parent (`.claude-bottle/agents`, `.claude-bottle`) that is a link. */
function linkedDir(dir: string): string | undefined {
  for (const candidate of [dirname(dir), dir]) {
    try {
      if (lstatSync(candidate).isSymbolicLink()) return candidate;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function displayPath(file: string): string {
  if (file === BUILT_IN_FILE) return file;
  const fromCwd = relative(process.cwd(), file);
  return fromCwd.startsWith("..") ? file : fromCwd;
}

function locator(source: FrontmatterFile): LoadedManifest["locate"] {
  return (path) => {
    const node = source.document.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const { line, column } = node?.range ? source.positionOf(node.range[0]) : { line: 2, column: 1 };
    return { file: source.file, line, column };
  };
}
