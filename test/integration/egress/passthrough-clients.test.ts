import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  connect,
  httpsRequest,
  makePki,
  type Pki,
  plainRequest,
  startTestProxy,
  startUpstream,
  type TestProxy,
  tlsOver,
  type Upstream,
} from "./helpers.ts";

// An Anthropic API key that is not the bottle's: what an agent would need to use someone
// else's account through a passthrough host.
const FOREIGN_KEY = `sk-ant-api03-${"Zq7Lm2Vx9Rt4Kp8Wn3Yb6Hd1".repeat(4).slice(0, 93)}AA`;
// cred-proxy's address as the egress proxy learns it (in a bottle: Docker's DNS for the alias).
const CLIENT = "127.0.0.2";

describe("egress-proxy passthrough_clients: passthrough only for the named clients", () => {
  let pki: Pki;
  let upstream: Upstream & { release: () => void };
  let proxy: TestProxy;
  const issuer = async (from: string) => {
    const tunnel = await connect(proxy.port, `passthrough.test:${upstream.https.port}`, from);
    assert.equal(tunnel.status, 200);
    const secure = await tlsOver(
      tunnel.socket,
      "passthrough.test",
      `${pki.upstreamCa.certPem}${pki.bottleCa.certPem}`,
    );
    const cert = new X509Certificate(secure.getPeerX509Certificate()?.raw ?? Buffer.alloc(0));
    secure.destroy();
    return cert.checkIssued(new X509Certificate(pki.bottleCa.certPem)) ? "bottle CA" : "upstream CA";
  };

  before(async () => {
    pki = await makePki();
    upstream = await startUpstream(pki);
    proxy = await startTestProxy(pki, {
      allowlist: ["upstream.test"],
      passthrough: ["passthrough.test"],
      passthrough_clients: ["cred-proxy.test"],
      hosts: {
        "upstream.test": "127.0.0.1",
        "passthrough.test": "127.0.0.1",
        "cred-proxy.test": CLIENT,
      },
    });
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it("tunnels the passthrough host for the named client: it sees the upstream's own certificate", async () => {
    assert.equal(await issuer(CLIENT), "upstream CA");
  });

  it("intercepts the same host for any other client: it sees a leaf of the bottle CA", async () => {
    assert.equal(await issuer("127.0.0.1"), "bottle CA");
  });

  it("refuses another client's request carrying a foreign API key in a header", async () => {
    const reply = await httpsRequest(
      proxy.port,
      `https://passthrough.test:${upstream.https.port}/v1/messages`,
      pki.bottleCa.certPem,
      { method: "POST", headers: { "x-api-key": FOREIGN_KEY }, body: "{}" },
    );
    assert.equal(reply.status, 403);
    assert.equal(reply.headers["x-bottle-block"], "dlp-secret");
    assert.ok(!upstream.seen.some((seen) => JSON.stringify(seen).includes(FOREIGN_KEY)));
  });

  it("inspects another client's plain HTTP to the passthrough host, and not the named client's", async () => {
    const post = (from: string) =>
      plainRequest(proxy.port, `http://passthrough.test:${upstream.http.port}/p`, {
        method: "POST",
        body: `key=${FOREIGN_KEY}`,
        from,
      });
    const other = await post("127.0.0.1");
    assert.equal(other.status, 403);
    assert.equal(other.headers["x-bottle-block"], "dlp-secret");
    assert.equal((await post(CLIENT)).status, 200);
  });

  it("says in the audit log which tunnels were intercepted because of the client", async () => {
    const tunnel = await connect(proxy.port, `passthrough.test:${upstream.https.port}`, "127.0.0.1");
    const secure = await tlsOver(tunnel.socket, "passthrough.test", pki.bottleCa.certPem);
    const reply = await httpsRequest(
      proxy.port,
      `https://passthrough.test:${upstream.https.port}/clean`,
      pki.bottleCa.certPem,
      { socket: secure },
    );
    assert.equal(reply.status, 200);
    secure.destroy();
    // A tunnel's line is written when it closes.
    const rules = async () =>
      (await proxy.auditLines()).filter((line) => line.kind === "tunnel").map((line) => line.rule);
    // Bounded, so a regression fails instead of hanging.
    for (let tries = 0; tries < 100; tries++) {
      if ((await rules()).includes("intercept passthrough.test (passthrough only for passthrough_clients)"))
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(
      (await rules()).includes("intercept passthrough.test (passthrough only for passthrough_clients)"),
    );
    assert.ok((await rules()).includes("passthrough passthrough.test"));
  });
});
