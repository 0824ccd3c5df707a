/**
 * A line diff for the operator (dashboard detail view) and the audit log: `-` removed, `+` added,
 * ` ` kept. Longest common subsequence over lines; inputs here are small (allowlists, routes,
 * Dockerfiles up to 64 KiB), and beyond `maxCells` the middle is shown as replaced whole. Pure.
 */
export function lineDiff(before: string, after: string, maxCells = 4_000_000): string[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head = a.slice(0, start).map((line) => ` ${line}`);
  const tail = a.slice(endA).map((line) => ` ${line}`);
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > maxCells)
    return [...head, ...midA.map((line) => `-${line}`), ...midB.map((line) => `+${line}`), ...tail];
  return [...head, ...lcsDiff(midA, midB), ...tail];
}

function lcsDiff(a: readonly string[], b: readonly string[]): string[] {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      table[i * width + j] =
        a[i] === b[j]
          ? (table[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(table[(i + 1) * width + j] ?? 0, table[i * width + j + 1] ?? 0);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(` ${a[i]}`);
      i++;
      j++;
    } else if ((table[(i + 1) * width + j] ?? 0) >= (table[i * width + j + 1] ?? 0)) out.push(`-${a[i++]}`);
    else out.push(`+${b[j++]}`);
  }
  while (i < a.length) out.push(`-${a[i++]}`);
  while (j < b.length) out.push(`+${b[j++]}`);
  return out;
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Only the changed lines with `context` kept lines around each change. */
export function changedOnly(diff: readonly string[], context = 2): string[] {
  const keep = new Set<number>();
  diff.forEach((line, index) => {
    if (line.startsWith(" ")) return;
    for (let k = Math.max(0, index - context); k <= Math.min(diff.length - 1, index + context); k++)
      keep.add(k);
  });
  const out: string[] = [];
  let last = -1;
  for (const index of [...keep].sort((x, y) => x - y)) {
    if (last !== -1 && index > last + 1) out.push("…");
    out.push(diff[index] ?? "");
    last = index;
  }
  return out;
}
