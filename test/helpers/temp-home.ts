import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A throwaway CLAUDE_BOTTLE_HOME plus a project dir, removed on dispose. */
export interface TempHome extends Disposable {
  home: string;
  project: string;
  /** Writes a file relative to the home dir (or absolute). */
  write(path: string, text: string): string;
}

export function tempHome(): TempHome {
  const root = mkdtempSync(join(tmpdir(), "claude-bottle-test-"));
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(home, { recursive: true });
  mkdirSync(project, { recursive: true });
  return {
    home,
    project,
    write(path, text) {
      const file = path.startsWith("/") ? path : join(home, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    [Symbol.dispose]() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A manifest file's text from frontmatter lines and a body. */
export function manifest(frontmatter: string, body = ""): string {
  return `---\n${frontmatter.trim()}\n---\n${body}`;
}
