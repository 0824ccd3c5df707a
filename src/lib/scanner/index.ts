export { fingerprintToken } from "./known-tokens.ts";
export { createScanPool, type ScanPool } from "./pool.ts";
export { scan } from "./scan.ts";
export type { Finding, KnownToken, KnownTokenHit, ScanOptions } from "./types.ts";
