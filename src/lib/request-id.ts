import { randomBytes } from "node:crypto";

/**
 * The short id every audited request carries (egress-proxy, cred-proxy): in its audit line, and in
 * a refusal's `X-Bottle-Request-Id` header and body, so `claude-bottle why <id>` finds the line.
 */
export const REQUEST_ID = /^[0-9a-f]{10}$/;
export const REQUEST_ID_HEADER = "X-Bottle-Request-Id";

export function newRequestId(): string {
  return randomBytes(5).toString("hex");
}
