import type { Command } from "commander";
import { registerDashboardCommand } from "./dashboard.ts";
import { registerDemoCommand } from "./demo.ts";
import { registerImagesCommand } from "./images.ts";
import { registerInfoCommand } from "./info.ts";
import { registerInitCommand } from "./init.ts";
import { registerLifecycleCommands } from "./lifecycle.ts";
import { registerListCommand } from "./list.ts";
import { registerLogsCommands } from "./logs.ts";
import { registerScanCommand } from "./scan.ts";
import { registerSchemaCommand } from "./schema.ts";
import { registerSidecarCommand } from "./sidecar.ts";
import { registerStartCommand } from "./start.ts";
import { registerStatusCommand } from "./status.ts";
import { registerSuperviseCommands } from "./supervise.ts";

/** Every subcommand registers itself here; one line per command module. */
export function registerCommands(program: Command): void {
  registerStartCommand(program);
  registerDemoCommand(program);
  registerInfoCommand(program);
  registerImagesCommand(program);
  registerLifecycleCommands(program);
  registerListCommand(program);
  registerInitCommand(program);
  registerSchemaCommand(program);
  registerScanCommand(program);
  registerSidecarCommand(program);
  registerDashboardCommand(program);
  registerSuperviseCommands(program);
  registerStatusCommand(program);
  registerLogsCommands(program);
}
