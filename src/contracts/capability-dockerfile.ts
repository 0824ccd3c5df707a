/**
 * The Dockerfile of a capability proposal, as claude-bottle builds it (docs/supervise.md): never
 * handed to `docker build`, but parsed here into steps that the capability builder runs in a
 * container confined like the agent (backend/docker/capability-build.ts). Only what that builder
 * can confine is accepted: one `FROM` of the bottle's own agent image, then RUN, ENV, WORKDIR and
 * USER. No parser directive can switch the frontend, no `RUN --mount` reaches a cache or secret,
 * no COPY/ADD brings bytes from the host or a URL, no ARG takes a build argument. Pure.
 */
import type { Validated } from "./supervise.ts";

export type CapabilityStep =
  | { kind: "run"; line: number; shell: string }
  | { kind: "run"; line: number; argv: string[] }
  /** Raw words `KEY=value` (quotes and `$VAR` resolved when the step runs: expandWord). */
  | { kind: "env"; line: number; pairs: { key: string; raw: string }[] }
  | { kind: "workdir"; line: number; raw: string }
  | { kind: "user"; line: number; raw: string };

export interface CapabilityDockerfile {
  /** What `FROM` names: the bottle's agent image, as the current Dockerfile names it. */
  from: string;
  steps: CapabilityStep[];
}

const CAPABILITY_INSTRUCTIONS = ["RUN", "ENV", "WORKDIR", "USER"] as const;
const MAX_CAPABILITY_STEPS = 200;

const ALLOWED = `allowed after FROM: ${CAPABILITY_INSTRUCTIONS.join(", ")}`;
const REFUSED: Readonly<Record<string, string>> = {
  ADD: "ADD is not allowed: nothing from the host, a URL or a git repository enters the image; fetch it in a RUN, through the egress proxy",
  COPY: "COPY is not allowed: nothing from the host or another image enters the image; fetch it in a RUN, through the egress proxy",
  ARG: "ARG is not allowed: a capability build takes no build arguments (use ENV)",
  ONBUILD: "ONBUILD is not allowed",
  SHELL: 'SHELL is not allowed: RUN uses /bin/sh -c (or the exec form ["prog", "arg"])',
};
const KNOWN = [
  "FROM",
  "RUN",
  "ENV",
  "WORKDIR",
  "USER",
  "CMD",
  "ENTRYPOINT",
  "LABEL",
  "EXPOSE",
  "VOLUME",
  "HEALTHCHECK",
  "STOPSIGNAL",
  "MAINTAINER",
  ...Object.keys(REFUSED),
];

const DIRECTIVE = /^#\s*(syntax|escape|check)\s*=/i;
/** Any `<<` that is not a here-string (`<<<`): BuildKit would read a heredoc there. */
const HEREDOC = /(^|[^<])<<(?!<)/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER = /^[A-Za-z0-9_.$-][A-Za-z0-9_.${}-]*(:[A-Za-z0-9_.${}-]+)?$/;

interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

export function parseCapabilityDockerfile(text: string): Validated<CapabilityDockerfile> {
  const problems: string[] = [];
  const instructions = logicalLines(text, problems);
  let from: string | undefined;
  const steps: CapabilityStep[] = [];
  for (const { line, keyword, args } of instructions) {
    const at = `line ${line}`;
    if (from === undefined) {
      if (keyword !== "FROM") {
        problems.push(`${at}: the first instruction must be FROM (this bottle's agent image)`);
        from = "";
        continue;
      }
      const words = args.split(/\s+/).filter(Boolean);
      if (words.length !== 1 || words[0]?.startsWith("--"))
        problems.push(`${at}: FROM takes only the image (no --platform, no AS stage)`);
      from = words[0] ?? "";
      continue;
    }
    if (keyword === "FROM") {
      problems.push(`${at}: only one FROM: a capability has a single stage, this bottle's agent image`);
      continue;
    }
    const refused = REFUSED[keyword];
    if (refused !== undefined) {
      problems.push(`${at}: ${refused}`);
      continue;
    }
    switch (keyword) {
      case "RUN":
        steps.push(...runStep(line, args, problems));
        break;
      case "ENV":
        steps.push(...envStep(line, args, problems));
        break;
      case "WORKDIR":
        if (args === "" || args.includes("\0")) problems.push(`${at}: WORKDIR needs a path`);
        else steps.push({ kind: "workdir", line, raw: args });
        break;
      case "USER":
        if (!USER.test(args)) problems.push(`${at}: USER takes a user (and :group), names or ids`);
        else steps.push({ kind: "user", line, raw: args });
        break;
      default:
        problems.push(
          KNOWN.includes(keyword)
            ? `${at}: ${keyword} is not allowed: the bottle runs the agent itself (${ALLOWED})`
            : `${at}: unknown instruction ${keyword.slice(0, 20)} (${ALLOWED})`,
        );
    }
  }
  if (from === undefined) problems.push("the Dockerfile has no FROM");
  if (steps.length > MAX_CAPABILITY_STEPS)
    problems.push(`at most ${MAX_CAPABILITY_STEPS} instructions (join RUN lines with &&)`);
  return problems.length ? { ok: false, problems } : { ok: true, value: { from: from ?? "", steps } };
}

/** Physical lines joined at a trailing backslash; comments and blank lines dropped, directives refused. */
function logicalLines(text: string, problems: string[]): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#")) {
      if (DIRECTIVE.test(trimmed))
        problems.push(
          `line ${index + 1}: parser directives (# syntax=, # escape=, # check=) are not allowed: claude-bottle builds the image itself, with the default syntax`,
        );
      return;
    }
    // Blank lines end nothing: Docker skips them, inside a continuation too.
    if (trimmed === "") return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, "") : raw;
    // Joined as Docker joins them: the backslash and line break go, nothing else.
    pending = pending ? { ...pending, text: `${pending.text}${body}` } : { line: index + 1, text: body };
    if (continued) return;
    instructions.push(instruction(pending));
    pending = undefined;
  });
  if (pending !== undefined) instructions.push(instruction(pending));
  return instructions;
}

function instruction({ line, text }: { line: number; text: string }): Instruction {
  const trimmed = text.trim();
  const match = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  return { line, keyword: (match?.[1] ?? "").toUpperCase(), args: (match?.[2] ?? "").trim() };
}

function runStep(line: number, args: string, problems: string[]): CapabilityStep[] {
  const at = `line ${line}`;
  if (args.startsWith("--")) {
    problems.push(
      `${at}: RUN flags (--mount, --network, --security) are not allowed: a RUN step has the bottle's network and nothing else`,
    );
    return [];
  }
  if (args === "") {
    problems.push(`${at}: RUN needs a command`);
    return [];
  }
  if (args.startsWith("[")) {
    let argv: unknown;
    try {
      argv = JSON.parse(args);
    } catch {
      argv = undefined;
    }
    if (Array.isArray(argv) && argv.length > 0 && argv.every((word) => typeof word === "string"))
      return [{ kind: "run", line, argv }];
  }
  if (HEREDOC.test(args)) {
    problems.push(`${at}: heredocs (<<EOF) are not supported: write files with printf in the RUN line`);
    return [];
  }
  return [{ kind: "run", line, shell: args }];
}

function envStep(line: number, args: string, problems: string[]): CapabilityStep[] {
  const at = `line ${line}`;
  const words = splitWords(args);
  if (words === undefined) {
    problems.push(`${at}: ENV has an unterminated quote`);
    return [];
  }
  const [first] = words;
  if (first === undefined) {
    problems.push(`${at}: ENV needs KEY=value`);
    return [];
  }
  // The legacy form `ENV KEY value with spaces`.
  const pairs = first.includes("=")
    ? words.map((word) => ({ key: word.slice(0, word.indexOf("=")), raw: word.slice(word.indexOf("=") + 1) }))
    : [{ key: first, raw: args.slice(first.length).trim() }];
  for (const { key, raw } of pairs) {
    if (!ENV_KEY.test(key))
      problems.push(`${at}: ENV name ${JSON.stringify(key.slice(0, 40))} is not a variable name`);
    else if (expandWord(raw, new Map()) === undefined)
      problems.push(`${at}: ENV ${key} has an unterminated quote`);
  }
  return problems.some((problem) => problem.startsWith(`${at}:`)) ? [] : [{ kind: "env", line, pairs }];
}

/** Splits at unquoted whitespace, keeping quotes and escapes for expandWord; undefined: unterminated. */
function splitWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index] as string;
    if (quote === undefined && /\s/.test(char)) {
      if (word !== "") words.push(word);
      word = "";
      continue;
    }
    if (char === "\\" && quote !== "'" && index + 1 < text.length) {
      word += char + (text[index + 1] as string);
      index++;
      continue;
    }
    if (char === quote) quote = undefined;
    else if (quote === undefined && (char === '"' || char === "'")) quote = char;
    word += char;
  }
  if (quote !== undefined) return undefined;
  if (word !== "") words.push(word);
  return words;
}

/**
 * A word as Docker reads an ENV value, WORKDIR or USER: quotes removed, backslash escapes, and
 * `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME:+word}` from `env` (outside single quotes).
 * Undefined when a quote or a `${` is not closed.
 */
export function expandWord(raw: string, env: ReadonlyMap<string, string>): string | undefined {
  let out = "";
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < raw.length; index++) {
    const char = raw[index] as string;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else out += char;
      continue;
    }
    if (char === "\\" && index + 1 < raw.length) {
      out += raw[index + 1];
      index++;
      continue;
    }
    if (char === '"') {
      quote = quote === '"' ? undefined : '"';
      continue;
    }
    if (char === "'" && quote === undefined) {
      quote = "'";
      continue;
    }
    if (char === "$") {
      const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}/.exec(raw.slice(index));
      if (braced) {
        const value = env.get(braced[1] as string) ?? "";
        if (braced[2] === "-") out += value === "" ? (braced[3] ?? "") : value;
        else if (braced[2] === "+") out += value === "" ? "" : (braced[3] ?? "");
        else out += value;
        index += braced[0].length - 1;
        continue;
      }
      if (raw[index + 1] === "{") return undefined;
      const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(raw.slice(index));
      if (plain) {
        out += env.get(plain[1] as string) ?? "";
        index += plain[0].length - 1;
        continue;
      }
    }
    out += char;
  }
  return quote === undefined ? out : undefined;
}

/**
 * The Dockerfile an agent starts a proposal from: the bottle's agent image and the rules, as
 * comments. `image` is the reference the bottle was launched with.
 */
export function initialCapabilityDockerfile(image: string): string {
  return `# The agent image of this bottle. To propose a capability, add lines below this FROM (keep it)
# and call propose_capability with the whole file. Allowed: ${CAPABILITY_INSTRUCTIONS.join(", ")}.
# Each RUN runs as the current USER (start: node; write USER root for apt-get) on the bottle's
# network: the egress proxy and its allowlist are the only way out (request_egress first). Not
# allowed: COPY, ADD, ARG, RUN --mount, parser directives, a second FROM.
FROM ${image}
`;
}
