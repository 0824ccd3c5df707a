import { z } from "zod";
import { parseHostPattern, splitHostPort } from "../lib/host-pattern.ts";
import { parseCidr, parseIpLiteral } from "../lib/ip-policy.ts";

/**
 * The egress-proxy sidecar's contract with the host: where its files sit in its container, and its
 * config file, which the host renders (src/plan/egress-config.ts) and the proxy parses
 * (src/sidecars/egress-proxy/load-config.ts).
 */

/** Where the egress-proxy sidecar finds its files and listens, inside its container. */
export const EGRESS = {
  alias: "egress-proxy",
  port: 8888,
  healthPort: 8889,
  dir: "/etc/claude-bottle/egress",
  configFile: "/etc/claude-bottle/egress/config.yaml",
  caCert: "/etc/claude-bottle/egress/ca.pem",
  caKey: "/etc/claude-bottle/egress/ca-key.pem",
  auditDir: "/var/log/claude-bottle",
  auditFile: "/var/log/claude-bottle/egress-audit.jsonl",
  /** `egress.upstream_ca` files are mounted read-only here as 0.pem, 1.pem, ... */
  upstreamCaDir: "/etc/claude-bottle/upstream-ca",
} as const;

/**
 * The egress proxy's config file (YAML): the single source of truth for its shape. Every field
 * is described; security refinements live here. Messages name key paths and never echo values
 * (a value may be a secret). Relative file paths are resolved against the config file's folder.
 */

const hostPattern = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const parsed = parseHostPattern(value);
    if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
  });

const listenAddress = z
  .string()
  .describe("host:port to listen on; port 0 picks a free port")
  .superRefine((value, ctx) => {
    const split = value.endsWith(":0") ? splitHostPort(`${value.slice(0, -2)}:1`) : splitHostPort(value);
    if (split === undefined || split.port === undefined) {
      ctx.addIssue({ code: "custom", message: "expected host:port" });
    }
  });

const filePath = z
  .string()
  .min(1)
  .describe("file path; relative paths are resolved from the config file's folder");

const positiveInt = z.number().int().positive();

const limitsSchema = z
  .strictObject({
    max_connections: positiveInt.default(1024).describe("client connections open at once"),
    max_tunnels: positiveInt.default(512).describe("CONNECT tunnels open at once; more are refused (503)"),
    max_header_bytes: positiveInt.default(32 * 1024).describe("request line plus headers"),
    max_body_bytes: positiveInt
      .default(32 * 1024 * 1024)
      .describe("request body inspected by DLP (after decoding); larger bodies are refused"),
    headers_timeout_ms: positiveInt.default(10_000).describe("time to receive a request's headers"),
    request_timeout_ms: positiveInt.default(120_000).describe("time to receive a whole request"),
    idle_timeout_ms: positiveInt.default(120_000).describe("idle client connection or tunnel"),
    handshake_timeout_ms: positiveInt.default(10_000).describe("client TLS handshake inside a CONNECT"),
    upstream_timeout_ms: positiveInt.default(30_000).describe("connect plus response headers from upstream"),
    leaf_cache_size: positiveInt.default(1000).describe("leaf certificates kept in memory"),
    scan_inline_max_bytes: positiveInt
      .default(64 * 1024)
      .describe("bodies up to this size are scanned inline; larger ones in the worker pool"),
    check_interval_ms: positiveInt
      .default(1000)
      .describe("how often header and request timeouts are checked"),
  })
  .describe("resource bounds; every one has a default");

export type Limits = z.infer<typeof limitsSchema>;

const knownToken = z.strictObject({
  name: z.string().min(1).describe("token slot name, for messages"),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "expected 64 lower-case hex digits")
    .describe("hex SHA-256 of the token value (never the value)"),
  length: positiveInt.describe("length of the token value in characters"),
  host: hostPattern.describe("the host the token belongs to; it is refused anywhere else"),
});

const extraPattern = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected a lower-case rule id")
    .describe("rule id reported in refusals"),
  pattern: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      try {
        new RegExp(value, "u");
      } catch {
        ctx.addIssue({ code: "custom", message: "not a valid regular expression" });
      }
    })
    .describe("JavaScript regular expression (unicode mode)"),
});

export const egressConfigSchema = z
  .strictObject({
    listen: listenAddress.default("0.0.0.0:8888").describe("forward proxy address"),
    health: listenAddress.optional().describe("health endpoint address (GET /healthz)"),
    bottle: z
      .string()
      .regex(/^[a-z][a-z0-9-]*$/, "expected a bottle name")
      .optional()
      .describe("bottle name, quoted in refusals"),
    supervise: z.boolean().default(false).describe("when true, refusals point at the supervise tool"),
    allowlist: z.array(hostPattern).default([]).describe("hosts the bottle may reach: host, *.domain, :port"),
    default_ports: z
      .union([z.literal("any"), z.array(z.number().int().min(1).max(65535))])
      .default([443, 80])
      .describe('ports an allowlist or passthrough entry without :port allows; "any" only for tests'),
    passthrough: z
      .array(hostPattern)
      .default([])
      .describe("hosts tunnelled without interception (allowed by being listed)"),
    passthrough_clients: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "when set, passthrough hosts are tunnelled only for these clients (IPs or names); other clients get them inspected",
      ),
    tls_interception: z
      .strictObject({ ca_cert: filePath, ca_key: filePath })
      .optional()
      .describe("per-bottle CA; without it CONNECT tunnels are not inspected"),
    upstream_ca: z.array(filePath).default([]).describe("extra CA files trusted for upstream TLS"),
    ssrf: z
      .strictObject({
        ip_allowlist: z
          .array(
            z.string().superRefine((value, ctx) => {
              if (parseCidr(value) === undefined)
                ctx.addIssue({ code: "custom", message: "expected a CIDR" });
            }),
          )
          .default([])
          .describe("CIDRs that may be dialled although not public unicast"),
      })
      .default({ ip_allowlist: [] }),
    hosts: z
      .record(
        z.string().min(1),
        z.string().superRefine((value, ctx) => {
          if (parseIpLiteral(value) === undefined) {
            ctx.addIssue({ code: "custom", message: "expected an IP address" });
          }
        }),
      )
      .default({})
      .describe("name resolution overrides: host -> IP (still subject to SSRF checks)"),
    dlp: z
      .strictObject({
        extra_patterns: z.array(extraPattern).default([]),
        known_tokens: z.array(knownToken).default([]),
        subdomain_entropy: z
          .strictObject({
            enabled: z.boolean().default(true),
            min_length: positiveInt.default(16).describe("shorter labels are never judged"),
            threshold: z.number().positive().default(4).describe("Shannon bits per character"),
          })
          .default({ enabled: true, min_length: 16, threshold: 4 }),
      })
      .default({
        extra_patterns: [],
        known_tokens: [],
        subdomain_entropy: { enabled: true, min_length: 16, threshold: 4 },
      }),
    audit: z
      .strictObject({
        path: filePath.optional().describe("JSON lines file; stdout when absent"),
        max_bytes: positiveInt
          .optional()
          .describe(
            "cap of the file and its one rotation (`<path>.1`); the oldest lines are dropped and counted",
          ),
      })
      .default({}),
    limits: limitsSchema.default(limitsSchema.parse({})),
  })
  .superRefine((config, ctx) => {
    // Without interception nobody is inspected: the restriction would only look like one.
    if (config.passthrough_clients.length > 0 && config.tls_interception === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["passthrough_clients"],
        message: "needs tls_interception: other clients' connections to passthrough hosts are inspected",
      });
  })
  .describe("claude-bottle egress-proxy configuration");

export type EgressConfig = z.infer<typeof egressConfigSchema>;
export type EgressConfigInput = z.input<typeof egressConfigSchema>;

/** JSON Schema for editors. */
export function egressConfigJsonSchema(): unknown {
  return z.toJSONSchema(egressConfigSchema, { io: "input" });
}
