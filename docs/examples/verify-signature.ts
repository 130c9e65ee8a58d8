// Verifying a Joe webhook delivery (README, "Events"). Compute the HMAC over the raw body bytes
// exactly as received — before any JSON parsing — and compare in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";

export function verifyJoeSignature(secret: string, rawBody: string | Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`);
  const given = Buffer.from(header ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
