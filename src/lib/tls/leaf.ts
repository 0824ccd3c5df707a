import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { canonicalIp } from "../ip-policy.ts";
import { EC_ALGORITHM, randomSerial, type SigningCa, toPem } from "./ca.ts";

/** A leaf certificate for one host, signed by the bottle CA. Pure crypto: no cache, no sockets. */
export interface Leaf {
  readonly host: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly notAfter: Date;
}

export interface LeafKey {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly keyPem: string;
}

/**
 * One key pair serves every leaf of a proxy instance (as mitmproxy does): leaves then cost one
 * signature, not a key generation. The key never leaves the proxy's memory.
 */
export async function generateLeafKey(): Promise<LeafKey> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALGORITHM, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  return { keys, keyPem: toPem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY") };
}

const HOUR_MS = 60 * 60 * 1000;

export async function mintLeaf(
  ca: SigningCa,
  leafKey: LeafKey,
  host: string,
  options: { validHours?: number; now?: Date } = {},
): Promise<Leaf> {
  const now = options.now ?? new Date();
  const wanted = new Date(now.getTime() + (options.validHours ?? 24 * 7) * HOUR_MS);
  const notAfter = wanted < ca.cert.notAfter ? wanted : ca.cert.notAfter;
  const ip = canonicalIp(host);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: [{ CN: [ip === undefined ? host : ip] }],
      issuer: ca.cert.subjectName,
      notBefore: new Date(now.getTime() - HOUR_MS),
      notAfter,
      signingAlgorithm: EC_ALGORITHM,
      publicKey: leafKey.keys.publicKey,
      signingKey: ca.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          [ip === undefined ? { type: "dns", value: host } : { type: "ip", value: ip }],
          false,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { host, certPem: cert.toString("pem"), keyPem: leafKey.keyPem, notAfter };
}
