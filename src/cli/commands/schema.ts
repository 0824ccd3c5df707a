import type { Command } from "commander";
import { manifestJsonSchema } from "../../manifest/schema.ts";

export function registerSchemaCommand(program: Command): void {
  program
    .command("schema")
    .description("Print the JSON Schema of bottle and agent frontmatter (for editors)")
    .action(() => {
      process.stdout.write(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
    });
}
