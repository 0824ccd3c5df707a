/** One line of a pre-receive hook's stdin: `<old> <new> <ref>`. */
export interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

const ZERO = /^0+$/;
const LINE = /^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) (refs\/\S+)$/;

export const isZero = (sha: string): boolean => ZERO.test(sha);
export const isDeletion = (update: RefUpdate): boolean => isZero(update.newSha);
export const isCreation = (update: RefUpdate): boolean => isZero(update.oldSha);

/** Parses the hook's stdin; a line that is not `<sha> <sha> refs/...` is an error (fail closed). */
export function parseRefUpdates(stdin: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of stdin.split("\n")) {
    if (line.trim() === "") continue;
    const match = LINE.exec(line.trim());
    if (!match) throw new Error(`unexpected pre-receive input line: ${JSON.stringify(line.slice(0, 200))}`);
    updates.push({ oldSha: match[1]!, newSha: match[2]!, ref: match[3]! });
  }
  return updates;
}
