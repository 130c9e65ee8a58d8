// Random identifiers and constant-time comparison.
import { randomBytes, randomInt, timingSafeEqual, createHash } from "node:crypto";

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** `JOE-` + 4 of [A-Z0-9], as the seed shows (JOE-A1B2). Uniqueness is enforced by the database. */
export function newVerificationCode(): string {
  let s = "JOE-";
  for (let i = 0; i < 4; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return s;
}

/** A webhook secret Telegram accepts: 1-256 chars of [A-Za-z0-9_-]; 32 random bytes. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Constant-time string comparison. Both sides are hashed first so that the comparison takes the
 * same time whatever the lengths (timingSafeEqual needs equal lengths).
 */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(secretDigest(a), secretDigest(b));
}

/** The digest safeEqual compares; kept by callers that check the same secret again and again. */
export function secretDigest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
