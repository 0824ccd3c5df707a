import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { describe, it } from "node:test";
import * as tls from "node:tls";
import { generateBottleCa, loadSigningCa } from "../../../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../../../src/lib/tls/leaf.ts";
import { createLeafCache } from "../../../src/lib/tls/leaf-cache.ts";

describe("per-bottle CA", () => {
  it("generates an ECDSA P-256 CA with CA:TRUE and reports its SHA-256 fingerprint", async () => {
    const ca = await generateBottleCa();
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(ca.sha256Fingerprint, cert.fingerprint256);
    assert.match(ca.sha256Fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(cert.verify(cert.publicKey), true);
  });

  it("generates a different key every time", async () => {
    const [a, b] = await Promise.all([generateBottleCa(), generateBottleCa()]);
    assert.notEqual(a.keyPem, b.keyPem);
    assert.notEqual(a.sha256Fingerprint, b.sha256Fingerprint);
  });

  it("refuses a key that does not belong to the certificate", async () => {
    const [a, b] = await Promise.all([generateBottleCa(), generateBottleCa()]);
    await assert.rejects(loadSigningCa(a.certPem, b.keyPem), /does not match/);
  });

  it("mints leaves that a TLS client trusting only the CA accepts, for names and IPs", async () => {
    const ca = await generateBottleCa();
    const signing = await loadSigningCa(ca.certPem, ca.keyPem);
    const key = await generateLeafKey();
    for (const host of ["api.example.org", "10.0.0.5"]) {
      const leaf = await mintLeaf(signing, key, host);
      const cert = new X509Certificate(leaf.certPem);
      assert.equal(cert.checkIssued(new X509Certificate(ca.certPem)), true);
      assert.equal(cert.ca, false);
      const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (s) => s.end("ok"));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const { port } = server.address() as { port: number };
      const client = tls.connect({
        host: "127.0.0.1",
        port,
        ca: ca.certPem,
        ...(host.includes(".") && !/^\d/.test(host) ? { servername: host } : {}),
        checkServerIdentity: (_n, c) => tls.checkServerIdentity(host, c),
      });
      await once(client, "secureConnect");
      assert.equal(client.authorized, true);
      client.destroy();
      server.close();
    }
  });
});

describe("leaf cache", () => {
  it("keeps at most maxEntries leaves and shares one mint between concurrent callers", async () => {
    const ca = await generateBottleCa();
    const cache = createLeafCache(await loadSigningCa(ca.certPem, ca.keyPem), { maxEntries: 3 });
    const [a, b] = await Promise.all([cache.get("a.test"), cache.get("a.test")]);
    assert.equal(a, b);
    for (const host of ["b.test", "c.test", "d.test", "e.test"]) await cache.get(host);
    assert.equal(cache.size, 3);
    assert.notEqual(await cache.get("a.test"), a, "evicted entries are minted again");
  });

  it("mints again when a cached leaf is close to expiry", async () => {
    const ca = await generateBottleCa();
    let now = new Date();
    const cache = createLeafCache(await loadSigningCa(ca.certPem, ca.keyPem), { now: () => now });
    const first = await cache.get("a.test");
    assert.equal(await cache.get("a.test"), first);
    now = new Date(now.getTime() + 7 * 24 * 3600 * 1000);
    assert.notEqual(await cache.get("a.test"), first);
  });
});
