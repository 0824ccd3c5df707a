/**
 * Real git repositories in a temp dir for the gate's unit tests: an "upstream" bare repository,
 * the gate's mirror of it, and a work tree whose new commits reach the mirror's object store
 * without any ref, as a pushed but not yet accepted push sits in pre-receive.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GateConfig } from "../../../src/contracts/git-gate.ts";

export interface Repos extends Disposable {
  root: string;
  upstream: string;
  gate: string;
  work: string;
  /** Runs git in the work tree; returns trimmed stdout. */
  git(...args: string[]): string;
  /** Writes a file in the work tree, commits it, returns the commit id. */
  commit(file: string, content: string, message?: string): string;
  /** Copies the work tree's objects for `ref` into the gate without updating any gate ref. */
  offer(ref: string): void;
  /** The value of a ref in a repository, "" when missing. */
  ref(repo: string, name: string): string;
}

const ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@test",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@test",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
};

export function run(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    env: ENV,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** upstream with one commit on main; the gate mirrors it; work is a clone of it. */
export function makeRepos(): Repos {
  const root = mkdtempSync(join(tmpdir(), "git-gate-unit-"));
  const upstream = join(root, "upstream.git");
  const gate = join(root, "gate", "app.git");
  const work = join(root, "work");
  run(root, "init", "-q", "--bare", "--initial-branch=main", upstream);
  run(root, "clone", "-q", upstream, work);
  run(work, "checkout", "-q", "-b", "main");
  writeFileSync(join(work, "README"), "hello\n");
  run(work, "add", "README");
  run(work, "commit", "-qm", "initial");
  run(work, "push", "-q", "origin", "main");
  run(root, "clone", "-q", "--bare", upstream, gate);
  const repos: Repos = {
    root,
    upstream,
    gate,
    work,
    git: (...args) => run(work, ...args),
    commit(file, content, message = `change ${file}`) {
      writeFileSync(join(work, file), content);
      run(work, "add", file);
      run(work, "commit", "-qm", message);
      return run(work, "rev-parse", "HEAD");
    },
    offer(ref) {
      run(gate, "fetch", "-q", "--no-write-fetch-head", work, ref);
    },
    ref(repo, name) {
      try {
        return run(repo, "rev-parse", "--verify", "--quiet", name);
      } catch {
        return "";
      }
    },
    [Symbol.dispose]() {
      rmSync(root, { recursive: true, force: true });
    },
  };
  return repos;
}

export const ZERO_SHA = "0".repeat(40);

/** A secret minted at run time with a valid shape. */
export const awsKey = (): string => `AKIA${"Q7XW4LHZ2KD5N3PR".split("").reverse().join("")}`;

/** A gate config whose one remote is the local upstream (a path: no SSH in unit tests). */
export function gateConfigFor(
  repos: Repos,
  audit?: string,
  maxPushBytes = 1024 ** 3,
  maxMirrorBytes = 8 * 1024 ** 3,
): GateConfig {
  return {
    listen_port: 9418,
    max_push_bytes: maxPushBytes,
    max_mirror_bytes: maxMirrorBytes,
    state_dir: repos.root.replace(/\/$/, ""),
    remotes: [
      {
        name: "app",
        upstream: "git@upstream.test:acme/app.git",
        url: repos.upstream,
        identity_file: "/nonexistent",
        known_hosts_file: "/nonexistent",
        host_key_alias: "a",
      },
    ],
    scan: { known_tokens: [], max_blob_bytes: 1024 * 1024 },
    upstream_timeout_seconds: 30,
    ...(audit === undefined ? {} : { audit_file: audit }),
  };
}
