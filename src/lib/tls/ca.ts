import "reflect-metadata";
import { X509Certificate as NodeX509Certificate, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

/**
 * The per-bottle certificate authority: ECDSA P-256, generated in memory at launch. The key goes
 * only into the egress proxy; the certificate goes into every container that speaks TLS through
 * it. Nothing here writes to disk.
 */

export interface BottleCa {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by colons (as openssl prints). */
  readonly sha256Fingerprint: string;
}

/** A CA ready to sign: its certificate and its private key as a WebCrypto key. */
export interface SigningCa {
  readonly cert: x509.X509Certificate;
  readonly certPem: string;
  readonly key: webcrypto.CryptoKey;
}

export const EC_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER (RFC 5280 §4.1.2.2)
  return Buffer.from(bytes).toString("hex");
}

function toPem(der: ArrayBuffer, label: string): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function fingerprintPem(certPem: string): string {
  return new NodeX509Certificate(certPem).fingerprint256;
}

export async function generateBottleCa(
  options: { commonName?: string; validDays?: number; now?: Date } = {},
): Promise<BottleCa> {
  const now = options.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(EC_ALGORITHM, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=${options.commonName ?? "claude-bottle per-bottle CA"}, O=claude-bottle`,
      notBefore: new Date(now.getTime() - 60 * 60 * 1000),
      notAfter: new Date(now.getTime() + (options.validDays ?? 30) * DAY_MS),
      signingAlgorithm: EC_ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const certPem = cert.toString("pem");
  return {
    certPem: certPem.endsWith("\n") ? certPem : `${certPem}\n`,
    keyPem: toPem(pkcs8, "PRIVATE KEY"),
    sha256Fingerprint: fingerprintPem(certPem),
  };
}

/** Imports a CA from PEM (as the proxy's config names it). Throws when the pair is unusable. */
export async function loadSigningCa(certPem: string, keyPem: string): Promise<SigningCa> {
  const cert = new x509.X509Certificate(certPem);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca) throw new Error("the CA certificate lacks basicConstraints CA:TRUE");
  const der = x509.PemConverter.decodeFirst(keyPem);
  const key = await webcrypto.subtle.importKey("pkcs8", der, EC_ALGORITHM, false, ["sign"]);
  // Prove the key belongs to the certificate: sign and verify with the certificate's key.
  const probe = new Uint8Array([1, 2, 3]);
  const signature = await webcrypto.subtle.sign(EC_ALGORITHM, key, probe);
  const publicKey = await cert.publicKey.export(EC_ALGORITHM, ["verify"], webcrypto);
  if (!(await webcrypto.subtle.verify(EC_ALGORITHM, publicKey, signature, probe))) {
    throw new Error("the CA key does not match the CA certificate");
  }
  return { cert, certPem, key };
}

export { toPem };
