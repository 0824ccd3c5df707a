import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalIp, checkAddress, parseCidr, parseIpLiteral } from "../../../src/lib/ip-policy.ts";

describe("IP literal parsing", () => {
  const encodings: [string, string | undefined][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["017700000001", "127.0.0.1"],
    ["0x7f.0.0.1", "127.0.0.1"],
    ["0177.0.0.01", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["0xa9.0xfe.0xa9.0xfe", "169.254.169.254"],
    ["169.254.43518", "169.254.169.254"],
    ["127.0.0.1.", "127.0.0.1"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["[::ffff:7f00:1]", "127.0.0.1"],
    ["::1", "::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["256.0.0.1", undefined],
    ["1.2.3.4.5", undefined],
    ["0x1g.0.0.1", undefined],
    ["08.0.0.1", undefined],
    ["4294967296", undefined],
    ["fe80::1%eth0", undefined],
    ["example.com", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of encodings) {
    it(`${JSON.stringify(input)} is ${expected ?? "not an IP literal"}`, () => {
      assert.equal(canonicalIp(input), expected);
    });
  }
});

describe("address policy", () => {
  const blocked = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "::ffff:10.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "ff02::1",
  ];
  for (const address of blocked) {
    it(`refuses ${address}`, () => {
      assert.equal(checkAddress(address, []).allowed, false);
    });
  }
  for (const address of ["1.1.1.1", "140.82.112.3", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
    it(`allows the public unicast address ${address}`, () => {
      assert.deepEqual(checkAddress(address, []), { allowed: true, why: "unicast" });
    });
  }

  it("allows a blocked range inside ssrf.ip_allowlist, also in its mapped IPv6 form", () => {
    const allow = [parseCidr("172.20.0.0/16"), parseCidr("127.0.0.1")].filter((c) => c !== undefined);
    assert.deepEqual(checkAddress("172.20.3.4", allow), { allowed: true, why: "ip-allowlist" });
    assert.deepEqual(checkAddress("::ffff:172.20.3.4", allow), { allowed: true, why: "ip-allowlist" });
    assert.equal(checkAddress("127.0.0.1", allow).allowed, true);
    assert.equal(checkAddress("127.0.0.2", allow).allowed, false);
    assert.equal(checkAddress("172.21.0.1", allow).allowed, false);
  });

  it("parses CIDRs and refuses garbage", () => {
    assert.ok(parseCidr("10.0.0.0/8"));
    assert.ok(parseCidr("fd00::/8"));
    assert.equal(parseCidr("10.0.0.0/33"), undefined);
    assert.equal(parseCidr("nope"), undefined);
  });

  it("unwraps IPv4-mapped IPv6 to the IPv4 it dials", () => {
    assert.equal(parseIpLiteral("::ffff:1.2.3.4")?.kind(), "ipv4");
  });
});
