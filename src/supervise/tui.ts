import type { SuperviseHost } from "./decide.ts";

export interface DashboardIo {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

export async function runDashboard(_host: SuperviseHost, _io: DashboardIo): Promise<void> {
  throw new Error("interactive dashboard: in progress");
}
