/**
 * Parses the JSON the docker CLI prints (`info`, `inspect`) into the engine's typed results.
 * Only the fields claude-bottle reads are declared; Docker's `null` for empty maps is accepted.
 */
import { z } from "zod";
import type { ContainerInfo, EngineInfo, HealthStatus, ImageInfo, NetworkInfo } from "./engine.ts";

const labels = z
  .record(z.string(), z.string())
  .nullish()
  .transform((value) => value ?? {});

const infoSchema = z.object({
  ID: z.string().nullish(),
  ServerVersion: z.string(),
  Runtimes: z.record(z.string(), z.unknown()).nullish(),
  DefaultRuntime: z.string().nullish(),
  OSType: z.string().nullish(),
  Architecture: z.string().nullish(),
  Driver: z.string().nullish(),
  DriverStatus: z.array(z.array(z.string())).nullish(),
});

export function parseInfo(json: string): EngineInfo {
  const info = infoSchema.parse(JSON.parse(json));
  const registered = info.Runtimes ?? {};
  const runtimes = Object.keys(registered).sort();
  return {
    id: info.ID ?? "",
    serverVersion: info.ServerVersion,
    runtimes,
    runtimeConfigs: Object.fromEntries(runtimes.map((name) => [name, JSON.stringify(registered[name])])),
    defaultRuntime: info.DefaultRuntime ?? "runc",
    os: info.OSType ?? "",
    architecture: info.Architecture ?? "",
    storage: {
      driver: info.Driver ?? "",
      backingFilesystem: info.DriverStatus?.find(([key]) => key === "Backing Filesystem")?.[1] ?? "",
    },
  };
}

const imageSchema = z.object({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullish(),
  Size: z.number(),
  Created: z.string(),
  Config: z
    .object({
      Labels: labels,
      User: z.string().nullish(),
      WorkingDir: z.string().nullish(),
      Env: z.array(z.string()).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
    })
    .nullish(),
});

export function parseImages(json: string): ImageInfo[] {
  return z
    .array(imageSchema)
    .parse(JSON.parse(json))
    .map((image) => ({
      id: image.Id,
      tags: image.RepoTags ?? [],
      labels: image.Config?.Labels ?? {},
      size: image.Size,
      created: image.Created,
      config: {
        user: image.Config?.User ?? "",
        workdir: image.Config?.WorkingDir ?? "",
        env: image.Config?.Env ?? [],
        entrypoint: image.Config?.Entrypoint ?? null,
        cmd: image.Config?.Cmd ?? null,
      },
    }));
}

const networkSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  Internal: z.boolean(),
  IPAM: z.object({ Config: z.array(z.object({ Subnet: z.string().optional() })).nullish() }).nullish(),
  Labels: labels,
  Containers: z.record(z.string(), z.unknown()).nullish(),
});

export function parseNetworks(json: string): NetworkInfo[] {
  return z
    .array(networkSchema)
    .parse(JSON.parse(json))
    .map((network) => ({
      id: network.Id,
      name: network.Name,
      internal: network.Internal,
      subnets: (network.IPAM?.Config ?? []).flatMap((config) => (config.Subnet ? [config.Subnet] : [])),
      labels: network.Labels,
      containers: Object.keys(network.Containers ?? {}),
    }));
}

const containerSchema = z.object({
  Id: z.string(),
  Image: z.string(),
  Name: z.string(),
  Config: z.object({ Image: z.string(), Labels: labels, Env: z.array(z.string()).nullish() }),
  HostConfig: z.object({ Runtime: z.string().nullish() }).nullish(),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    ExitCode: z.number(),
    Health: z.object({ Status: z.string() }).nullish(),
  }),
  NetworkSettings: z
    .object({
      Networks: z
        .record(
          z.string(),
          z.object({ IPAddress: z.string().nullish(), Aliases: z.array(z.string()).nullish() }).nullable(),
        )
        .nullish(),
    })
    .nullish(),
});

const HEALTH: readonly string[] = ["starting", "healthy", "unhealthy"];

export function parseContainers(json: string): ContainerInfo[] {
  return z
    .array(containerSchema)
    .parse(JSON.parse(json))
    .map((container) => {
      const health = container.State.Health?.Status ?? "none";
      const networks: ContainerInfo["networks"] = {};
      for (const [name, endpoint] of Object.entries(container.NetworkSettings?.Networks ?? {})) {
        networks[name] = { ipAddress: endpoint?.IPAddress ?? "", aliases: endpoint?.Aliases ?? [] };
      }
      return {
        id: container.Id,
        name: container.Name.replace(/^\//, ""),
        image: container.Config.Image,
        imageId: container.Image,
        status: container.State.Status,
        running: container.State.Running,
        exitCode: container.State.ExitCode,
        health: (HEALTH.includes(health) ? health : "none") as HealthStatus,
        labels: container.Config.Labels,
        runtime: container.HostConfig?.Runtime ?? "runc",
        networks,
        env: Object.fromEntries(
          (container.Config.Env ?? []).flatMap((entry) => {
            const at = entry.indexOf("=");
            return at > 0 ? [[entry.slice(0, at), entry.slice(at + 1)]] : [];
          }),
        ),
      };
    });
}
