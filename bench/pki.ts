import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type BottleCa, generateBottleCa, loadSigningCa } from "../src/lib/tls/ca.ts";
import { generateLeafKey, mintLeaf } from "../src/lib/tls/leaf.ts";

/**
 * The certificates a proxy bench needs, written into `dir`: an upstream CA with a leaf for
 * 127.0.0.1 (the bench upstream), and a bottle CA for the proxy's interception (`ca.pem`,
 * `ca-key.pem`; `upstream-ca.pem` for the proxy's upstream trust).
 */
export async function benchPki(
  dir: string,
): Promise<{ upstreamCa: BottleCa; bottleCa: BottleCa; leaf: { certPem: string; keyPem: string } }> {
  const upstreamCa = await generateBottleCa({ commonName: "bench upstream CA" });
  const bottleCa = await generateBottleCa({ commonName: "bench bottle CA" });
  const leaf = await mintLeaf(
    await loadSigningCa(upstreamCa.certPem, upstreamCa.keyPem),
    await generateLeafKey(),
    "127.0.0.1",
  );
  await writeFile(join(dir, "upstream-ca.pem"), upstreamCa.certPem);
  await writeFile(join(dir, "ca.pem"), bottleCa.certPem);
  await writeFile(join(dir, "ca-key.pem"), bottleCa.keyPem, { mode: 0o600 });
  return { upstreamCa, bottleCa, leaf };
}
