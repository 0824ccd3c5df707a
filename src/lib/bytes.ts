/** A byte count for people: binary units, one decimal where it helps (`1.5 GiB`, `256 KiB`). */
export function formatBytes(value: number): string {
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (value >= size) return `${Number((value / size).toFixed(1))} ${unit}`;
  return `${value} B`;
}
