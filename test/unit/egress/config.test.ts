import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { stringify } from "yaml";
import { egressConfigJsonSchema } from "../../../src/contracts/egress-proxy.ts";
import { generateBottleCa } from "../../../src/lib/tls/ca.ts";
import { loadEgressConfig, parseEgressConfigText } from "../../../src/sidecars/egress-proxy/load-config.ts";

describe("egress config loader", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "egress-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads the issue's example config, resolving relative paths from the config's folder", async () => {
    const ca = await generateBottleCa();
    await writeFile(join(dir, "ca.pem"), ca.certPem);
    await writeFile(join(dir, "ca-key.pem"), ca.keyPem);
    const file = join(dir, "config.yaml");
    await writeFile(
      file,
      `listen: 127.0.0.1:18888
health: 127.0.0.1:18889
allowlist: [api.github.com, "*.example.org", "registry.npmjs.org:443"]
passthrough: [api.anthropic.com]
tls_interception: {ca_cert: ca.pem, ca_key: ca-key.pem}
upstream_ca: []
ssrf: {ip_allowlist: [172.20.0.0/16]}
hosts: {upstream.test: 127.0.0.1}
dlp: {extra_patterns: [], known_tokens: []}
audit: {path: audit.jsonl}
`,
    );
    const result = await loadEgressConfig(file);
    assert.equal(result.status, "ok");
    if (result.status !== "ok") return;
    assert.equal(result.resolved.auditPath, join(dir, "audit.jsonl"));
    assert.ok(result.resolved.ca);
    assert.equal(result.resolved.config.limits.max_tunnels, 512);
    assert.equal(result.resolved.config.supervise, false);
  });

  it("reports a missing file as missing", async () => {
    assert.equal((await loadEgressConfig(join(dir, "nope.yaml"))).status, "missing");
  });

  it("names key paths and never echoes values", async () => {
    const secret = "0123456789abcdef-not-a-hash";
    const result = await parseEgressConfigText(
      stringify({
        allowlist: ["*.com", "ok.example"],
        surprise: 1,
        dlp: { known_tokens: [{ name: "T", sha256: secret, length: 4, host: "a.test" }] },
        hosts: { "x.test": "not-an-ip" },
        limits: { max_tunnels: -1 },
      }),
      join(dir, "inline.yaml"),
    );
    assert.equal(result.status, "invalid");
    if (result.status !== "invalid") return;
    const paths = result.issues.map((i) => i.path);
    for (const path of [
      "allowlist.0",
      "(root)",
      "dlp.known_tokens.0.sha256",
      "hosts.x.test",
      "limits.max_tunnels",
    ]) {
      assert.ok(paths.includes(path), `expected an issue at ${path}, got ${paths.join(", ")}`);
    }
    assert.equal(JSON.stringify(result).includes(secret), false);
    assert.equal(JSON.stringify(result).includes("not-an-ip"), false);
  });

  it("refuses files it cannot read and CA pairs that do not match", async () => {
    const [a, b] = await Promise.all([generateBottleCa(), generateBottleCa()]);
    await writeFile(join(dir, "a.pem"), a.certPem);
    await writeFile(join(dir, "b-key.pem"), b.keyPem);
    const mismatch = await parseEgressConfigText(
      stringify({
        tls_interception: { ca_cert: "a.pem", ca_key: "b-key.pem" },
        upstream_ca: ["missing.pem"],
      }),
      join(dir, "x.yaml"),
    );
    assert.equal(mismatch.status, "invalid");
    if (mismatch.status !== "invalid") return;
    assert.deepEqual(
      mismatch.issues.map((i) => i.path),
      ["tls_interception", "upstream_ca.0"],
    );
  });

  it("refuses an upstream_ca file that only looks like a certificate (checked at load, not at first use)", async () => {
    await writeFile(
      join(dir, "fake-ca.pem"),
      "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    const result = await parseEgressConfigText(
      stringify({ upstream_ca: ["fake-ca.pem"] }),
      join(dir, "f.yaml"),
    );
    assert.equal(result.status, "invalid");
    if (result.status === "invalid")
      assert.deepEqual(
        result.issues.map((issue) => [issue.path, issue.message]),
        [["upstream_ca.0", "not a PEM certificate"]],
      );
  });

  it("reports YAML syntax errors by line, without the text", async () => {
    const result = await parseEgressConfigText("allowlist: [a.test\nlisten: x", join(dir, "y.yaml"));
    assert.equal(result.status, "invalid");
    if (result.status === "invalid") assert.match(result.issues[0]?.message ?? "", /YAML .* line \d+/);
  });

  it("rejects an invalid extra pattern regex", async () => {
    const result = await parseEgressConfigText(
      stringify({ dlp: { extra_patterns: [{ id: "x", pattern: "([" }] } }),
      join(dir, "z.yaml"),
    );
    assert.equal(result.status, "invalid");
  });

  it("refuses passthrough_clients without tls_interception, where nobody would be inspected", async () => {
    const result = await parseEgressConfigText(
      stringify({ passthrough: ["api.anthropic.com"], passthrough_clients: ["cred-proxy"] }),
      join(dir, "p.yaml"),
    );
    assert.equal(result.status, "invalid");
    if (result.status === "invalid") {
      assert.equal(result.issues[0]?.path, "passthrough_clients");
      assert.match(result.issues[0]?.message ?? "", /needs tls_interception/);
    }
  });

  it("exports a JSON Schema for editors", () => {
    const schema = egressConfigJsonSchema() as { properties: Record<string, unknown> };
    for (const key of [
      "listen",
      "allowlist",
      "passthrough",
      "tls_interception",
      "ssrf",
      "dlp",
      "audit",
      "limits",
    ]) {
      assert.ok(key in schema.properties, key);
    }
  });
});
