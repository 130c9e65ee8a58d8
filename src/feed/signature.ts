// Outgoing webhook signatures: X-Joe-Signature: sha256=<hex HMAC-SHA256 of the raw body>.
// (Receivers verify with docs/examples/verify-signature.ts, the code the README shows.)
import { createHmac, randomBytes } from "node:crypto";

export function signBody(secret: string, rawBody: string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody, "utf8").digest("hex")}`;
}

/** A subscription's signing secret: 32 random bytes, shown once. */
export function newSubscriptionSecret(): string {
  return `whsec_${randomBytes(32).toString("base64url")}`;
}
