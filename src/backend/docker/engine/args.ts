/**
 * Pure argv builders for the docker CLI (no I/O, unit-tested).
 *
 * Environment values never appear here: the caller writes them to an env file
 * (env-file.ts) and passes its path, so neither `ps` nor the CLI's own environment sees them.
 */
import type { ContainerSpec, ExecOptions, LabelFilter, Labels } from "./engine.ts";

export function labelArgs(labels: Labels | undefined): string[] {
  return Object.entries(labels ?? {}).flatMap(([key, value]) => ["--label", `${key}=${value}`]);
}

export function filterArgs(filter: LabelFilter): string[] {
  return Object.entries(filter).flatMap(([key, value]) => [
    "--filter",
    value === true ? `label=${key}` : `label=${key}=${value}`,
  ]);
}

function duration(ms: number): string {
  return `${Math.round(ms)}ms`;
}

export function containerCreateArgs(spec: ContainerSpec, envFile?: string): string[] {
  const args = ["create"];
  const push = (...more: string[]) => args.push(...more);
  if (spec.name !== undefined) push("--name", spec.name);
  args.push(...labelArgs(spec.labels));
  if (spec.network !== undefined) push("--network", spec.network);
  for (const alias of spec.networkAliases ?? []) push("--network-alias", alias);
  if (spec.hostname !== undefined) push("--hostname", spec.hostname);
  if (spec.user !== undefined) push("--user", spec.user);
  if (spec.workdir !== undefined) push("--workdir", spec.workdir);
  if (envFile !== undefined) push("--env-file", envFile);
  if (spec.entrypoint !== undefined) push("--entrypoint", spec.entrypoint);
  for (const cap of spec.capDrop ?? []) push("--cap-drop", cap);
  for (const cap of spec.capAdd ?? []) push("--cap-add", cap);
  for (const opt of spec.securityOpt ?? []) push("--security-opt", opt);
  if (spec.readOnlyRootfs === true) push("--read-only");
  for (const [path, options] of Object.entries(spec.tmpfs ?? {})) {
    push("--tmpfs", options === "" ? path : `${path}:${options}`);
  }
  if (spec.pidsLimit !== undefined) push("--pids-limit", String(spec.pidsLimit));
  for (const group of spec.groupAdd ?? []) {
    if (!/^\d+$/.test(group)) throw new TypeError(`group-add: not a numeric gid: ${JSON.stringify(group)}`);
    push("--group-add", group);
  }
  if (spec.memoryBytes !== undefined) push("--memory", `${spec.memoryBytes}b`);
  if (spec.cpus !== undefined) push("--cpus", String(spec.cpus));
  if (spec.diskBytes !== undefined) push("--storage-opt", `size=${spec.diskBytes}`);
  for (const [name, value] of Object.entries(spec.ulimits ?? {})) {
    if (!/^[a-z]+$/.test(name) || !Number.isInteger(value)) throw new TypeError(`ulimit: ${name}=${value}`);
    push("--ulimit", `${name}=${value}:${value}`);
  }
  if (spec.runtime !== undefined) push("--runtime", spec.runtime);
  for (const server of spec.dns ?? []) push("--dns", server);
  for (const [host, address] of Object.entries(spec.extraHosts ?? {}))
    push("--add-host", `${host}:${address}`);
  for (const { hostIp, hostPort, containerPort } of spec.publish ?? [])
    push("--publish", `${hostIp}:${hostPort}:${containerPort}`);
  for (const mount of spec.mounts ?? []) {
    for (const part of [mount.source, mount.target]) {
      // --mount is a CSV list: a comma or quote in a path would inject options.
      if (/[,"]/.test(part)) throw new TypeError(`Mount path must not contain , or ": ${part}`);
    }
    push(
      "--mount",
      `type=bind,source=${mount.source},target=${mount.target}${mount.readOnly === true ? ",readonly" : ""}`,
    );
  }
  const health = spec.healthcheck;
  if (health !== undefined) {
    push("--health-cmd", health.shellCommand);
    if (health.intervalMs !== undefined) push("--health-interval", duration(health.intervalMs));
    if (health.timeoutMs !== undefined) push("--health-timeout", duration(health.timeoutMs));
    if (health.startPeriodMs !== undefined) push("--health-start-period", duration(health.startPeriodMs));
    if (health.retries !== undefined) push("--health-retries", String(health.retries));
  }
  if (spec.init === true) push("--init");
  if (spec.interactive === true) push("--interactive");
  if (spec.tty === true) push("--tty");
  push(spec.image, ...(spec.command ?? []));
  return args;
}

export function execArgs(
  container: string,
  command: readonly string[],
  options: ExecOptions,
  terminal: { stdinIsTty: boolean },
  envFile?: string,
): string[] {
  if (command.length === 0) throw new TypeError("exec: the command must not be empty");
  const args = ["exec"];
  const inherit = options.stdio === "inherit";
  if (inherit || options.input !== undefined) args.push("--interactive");
  if (inherit && terminal.stdinIsTty) args.push("--tty");
  if (options.user !== undefined) args.push("--user", options.user);
  if (options.workdir !== undefined) args.push("--workdir", options.workdir);
  if (envFile !== undefined) args.push("--env-file", envFile);
  args.push(container, ...command);
  return args;
}

/** `docker kill --signal SIG name`; the signal is checked so no option can ride in on it. */
export function killArgs(container: string, signal: string): string[] {
  if (!/^(SIG)?[A-Z0-9]+$/.test(signal))
    throw new TypeError(`kill: not a signal name: ${JSON.stringify(signal)}`);
  return ["kill", "--signal", signal, container];
}

export function stopArgs(container: string, graceSeconds: number): string[] {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0)
    throw new TypeError(`stop: not a whole number of seconds: ${graceSeconds}`);
  if (container === "" || container.startsWith("-"))
    throw new TypeError(`stop: not a container name: ${JSON.stringify(container)}`);
  return ["stop", "--time", String(graceSeconds), container];
}

/** `docker cp CONTAINER:PATH -`: a tar of an absolute path on stdout. */
export function copyOutArgs(container: string, path: string): string[] {
  if (!path.startsWith("/") || path.includes("\u0000") || path.split("/").includes(".."))
    throw new TypeError(`cp: path must be absolute without "..": ${JSON.stringify(path)}`);
  if (container === "" || container.startsWith("-"))
    throw new TypeError(`cp: not a container name: ${JSON.stringify(container)}`);
  return ["cp", `${container}:${path}`, "-"];
}
