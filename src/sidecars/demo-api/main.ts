import { appendFileSync, readFileSync } from "node:fs";
import type { DemoApiConfig } from "../../contracts/demo-api.ts";
import { UserError } from "../../lib/user-error.ts";
import { startFakeAnthropic } from "./fake-anthropic.ts";

/** The `demo-api` role of the sidecar image: the scripted fake API until SIGTERM. */
export async function main(argv: readonly string[]): Promise<void> {
  const index = argv.indexOf("--config");
  const file = index === -1 ? undefined : argv[index + 1];
  if (file === undefined) throw new UserError("usage: demo-api --config FILE");
  const config = JSON.parse(readFileSync(file, "utf8")) as DemoApiConfig;
  const fake = await startFakeAnthropic({
    script: config.script,
    host: "0.0.0.0",
    port: config.port,
    tls: config.certificates,
    onRequest: (request) => appendFileSync(config.recordFile, `${JSON.stringify(request)}\n`),
  });
  process.stderr.write(`demo-api: listening on ${fake.port}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await fake.close();
}
