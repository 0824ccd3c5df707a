// Runs every benchmark of bench/ one after another (they would skew each other in parallel) and
// writes bench/results.md: a table of each benchmark's ratios, then its full output.
// `node bench/run-all.ts [name...]`; names: cli, scanner, egress, cred-proxy, git-gate, launch, isolation, logs, capability-copy.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BENCHES: Record<string, { script: string; compares: string }> = {
  cli: { script: "cli/dry-run.ts", compares: "`start --dry-run` vs `node -e 0`" },
  scanner: { script: "scanner/run.ts", compares: "our scanner vs the plain secretlint preset (MB/s)" },
  egress: { script: "egress/run.ts", compares: "egress-proxy vs direct and vs mitmproxy" },
  "cred-proxy": { script: "cred-proxy/run.ts", compares: "cred-proxy + egress-proxy vs egress-proxy alone" },
  "git-gate": {
    script: "git-gate/run.ts",
    compares: "push and clone through git-gate vs directly to the same sshd",
  },
  launch: {
    script: "launch/run.ts",
    compares: "`start --detach` to ready vs `docker run -d` + `docker exec true`",
  },
  isolation: {
    script: "isolation/run.ts",
    compares: "the agent on gVisor vs on runc: launch and the egress path",
  },
  logs: { script: "logs/run.ts", compares: "`logs --summary` over 1M lines vs jq and `wc -l`" },
  "capability-copy": {
    script: "capability-copy/run.ts",
    compares: "the agent's home streamed between containers vs buffered in the CLI vs a shell pipe",
  },
};

const root = fileURLToPath(new URL(".", import.meta.url));
const selected = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(BENCHES);
const unknown = selected.filter((name) => !(name in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHES).join(", ")}`);
  process.exit(2);
}

function run(script: string): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}${script}`], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.on("close", (code) => resolve({ code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

const summary: string[] = ["| benchmark | compares | ratios |", "|---|---|---|"];
const details: string[] = [];
for (const name of selected) {
  const bench = BENCHES[name]!;
  console.error(`\n== bench ${name} (${bench.script})`);
  const { code, output, seconds } = await run(bench.script);
  // A ratio line is any line that says "ratio" or ends a table row with a `×`/`x` figure.
  const ratios = output
    .split("\n")
    .filter((line) => /ratio|\d\.\d+\s*[×x](\s|\||$)/i.test(line))
    .map((line) => line.replace(/\|/g, "/").trim())
    .filter(Boolean);
  const cell = code === 0 ? ratios.join("<br>") || "(see output)" : `FAILED (exit ${code})`;
  summary.push(`| ${name} | ${bench.compares} | ${cell} |`);
  details.push(`## ${name} (${seconds.toFixed(0)} s)\n\n\`\`\`\n${output.trim()}\n\`\`\``);
}

const report = `# Benchmarks\n\nRun on ${new Date().toISOString()} (${process.platform}, Node ${process.version}); figures from one run on a shared machine move between runs.\n\n${summary.join("\n")}\n\n${details.join("\n\n")}\n`;
writeFileSync(`${root}results.md`, report);
console.error(`\nwrote ${root}results.md`);
