/**
 * Fernet symmetric encryption, hand-written on `node:crypto` only.
 *
 * Why hand-written: no npm Fernet package is both well kept and built on
 * `node:crypto` alone (the `fernet` package is old and built on crypto-js; the
 * others are small one-person packages), while the format is small enough to
 * implement here and check against the official test vectors
 * (test/fixtures/fernet/, from github.com/fernet/spec).
 *
 * Follows the Fernet spec (https://github.com/fernet/spec/blob/master/Spec.md)
 * and the behaviour of Python's `cryptography.fernet` (Fernet / MultiFernet):
 *
 *   key   = base64url(signing key (16 B, HMAC-SHA256) | encryption key (16 B, AES-128-CBC))
 *   token = base64url(0x80 | timestamp (8 B, big-endian unix seconds) | IV (16 B)
 *                     | ciphertext (AES-128-CBC, PKCS#7) | HMAC-SHA256 over everything before it (32 B))
 *
 * Decoding accepts url-safe base64 with or without `=` padding and rejects any
 * character outside [A-Za-z0-9_-=]. The HMAC is checked (constant time) before
 * anything is decrypted. As in `cryptography`, the TTL and the clock-skew check
 * (timestamp more than 60 s in the future) apply only when a TTL is given.
 *
 * Error messages never contain the key, the token or the plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export class FernetError extends Error {
  override name = "FernetError";
}

const VERSION = 0x80;
const KEY_BYTES = 32;
const IV_BYTES = 16;
const BLOCK_BYTES = 16;
const HMAC_BYTES = 32;
const HEADER_BYTES = 1 + 8 + IV_BYTES; // version | timestamp | iv
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + HMAC_BYTES; // 73
/** cryptography.fernet._MAX_CLOCK_SKEW */
const MAX_CLOCK_SKEW_SECONDS = 60;

const INVALID_TOKEN = "invalid token";
const INVALID_KEY = "invalid Fernet key";

interface KeyParts {
  signing: Buffer;
  encryption: Buffer;
}

// ---------------------------------------------------------------------------
// base64url helpers

const B64URL_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict url-safe base64 decode (padding optional); null when malformed. */
function b64urlDecode(input: unknown): Buffer | null {
  if (typeof input !== "string" || !B64URL_RE.test(input)) return null;
  const body = input.replace(/=+$/, "");
  if (body.length !== input.length && input.length % 4 !== 0) return null; // wrong amount of padding
  if (body.length % 4 === 1) return null; // impossible length
  return Buffer.from(body, "base64url");
}

/** url-safe base64 with `=` padding, like Python's base64.urlsafe_b64encode. */
function b64urlEncode(data: Uint8Array): string {
  const s = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64url");
  return s + "=".repeat((4 - (s.length % 4)) % 4);
}

// ---------------------------------------------------------------------------
// key handling

function parseKey(key: unknown): KeyParts | null {
  const raw = b64urlDecode(key);
  if (raw === null || raw.length !== KEY_BYTES) return null;
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16, 32) };
}

function requireKey(key: unknown): KeyParts {
  const parts = parseKey(key);
  if (parts === null) throw new FernetError(INVALID_KEY);
  return parts;
}

export function generateKey(): string {
  return b64urlEncode(randomBytes(KEY_BYTES));
}

export function isValidKey(key: string): boolean {
  return parseKey(key) !== null;
}

// ---------------------------------------------------------------------------
// time helpers

function currentSeconds(now: number | undefined): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (typeof now !== "number" || !Number.isFinite(now) || now < 0) {
    throw new FernetError("invalid 'now' option: expected non-negative unix seconds");
  }
  return Math.floor(now);
}

// ---------------------------------------------------------------------------
// core encrypt / decrypt

function toBytes(plaintext: string | Uint8Array): Buffer {
  if (typeof plaintext === "string") return Buffer.from(plaintext, "utf8");
  if (plaintext instanceof Uint8Array) {
    return Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  }
  throw new FernetError("plaintext must be a string or Uint8Array");
}

function encryptParts(key: KeyParts, data: Buffer, timestamp: bigint, iv: Uint8Array): string {
  if (!(iv instanceof Uint8Array) || iv.byteLength !== IV_BYTES) {
    throw new FernetError(`iv must be ${IV_BYTES} bytes`);
  }
  const cipher = createCipheriv("aes-128-cbc", key.encryption, iv); // PKCS#7 padding by default
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const header = Buffer.alloc(1 + 8);
  header[0] = VERSION;
  header.writeBigUInt64BE(timestamp, 1);
  const signed = Buffer.concat([header, iv, ciphertext]);
  const mac = createHmac("sha256", key.signing).update(signed).digest();
  return b64urlEncode(Buffer.concat([signed, mac]));
}

interface Decrypted {
  plaintext: Buffer;
  timestamp: bigint;
}

/**
 * Verify and decrypt. `ttl` undefined means "no age / skew check" (Python's ttl=None).
 * Every failure throws FernetError(INVALID_TOKEN).
 */
function decryptParts(key: KeyParts, token: unknown, ttl: number | undefined, now: number): Decrypted {
  const data = b64urlDecode(token);
  if (data === null || data.length < MIN_TOKEN_BYTES || data[0] !== VERSION || (data.length - HEADER_BYTES - HMAC_BYTES) % BLOCK_BYTES !== 0) {
    throw new FernetError(INVALID_TOKEN);
  }

  // 1. Authenticate before looking at anything else (constant-time compare).
  const signed = data.subarray(0, data.length - HMAC_BYTES);
  const mac = data.subarray(data.length - HMAC_BYTES);
  const expected = createHmac("sha256", key.signing).update(signed).digest();
  if (!timingSafeEqual(mac, expected)) throw new FernetError(INVALID_TOKEN);

  // 2. Time checks (only when a TTL is requested, as in cryptography.fernet).
  const timestamp = data.readBigUInt64BE(1);
  if (ttl !== undefined) {
    const ts = Number(timestamp); // precision loss above 2^53 is irrelevant for these comparisons
    if (ts + ttl < now) throw new FernetError(INVALID_TOKEN); // expired
    if (ts > now + MAX_CLOCK_SKEW_SECONDS) throw new FernetError(INVALID_TOKEN); // from the future
  }

  // 3. Decrypt (AES-128-CBC, PKCS#7 checked by OpenSSL).
  const iv = data.subarray(9, HEADER_BYTES);
  const ciphertext = data.subarray(HEADER_BYTES, data.length - HMAC_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-128-cbc", key.encryption, iv);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new FernetError(INVALID_TOKEN); // bad padding; do not leak OpenSSL details
  }
  return { plaintext, timestamp };
}

function checkTtl(ttlSeconds: number | undefined): number | undefined {
  if (ttlSeconds === undefined) return undefined;
  if (typeof ttlSeconds !== "number" || !Number.isFinite(ttlSeconds) || ttlSeconds < 0) {
    throw new FernetError("invalid 'ttlSeconds' option: expected a non-negative number");
  }
  return ttlSeconds;
}

export function encrypt(key: string, plaintext: string | Uint8Array, opts?: { iv?: Uint8Array; now?: number /* unix seconds */ }): string {
  const parts = requireKey(key);
  const now = currentSeconds(opts?.now);
  const iv = opts?.iv ?? randomBytes(IV_BYTES);
  return encryptParts(parts, toBytes(plaintext), BigInt(now), iv);
}

export function decrypt(key: string, token: string, opts?: { ttlSeconds?: number; now?: number /* unix seconds */ }): Buffer {
  const parts = requireKey(key);
  const ttl = checkTtl(opts?.ttlSeconds);
  const now = currentSeconds(opts?.now);
  return decryptParts(parts, token, ttl, now).plaintext;
}

// ---------------------------------------------------------------------------
// MultiFernet

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Key rotation helper, like cryptography's MultiFernet: the first key encrypts,
 * every key is tried for decryption, `rotate` re-encrypts under the first key
 * keeping the token's original timestamp.
 */
export class MultiFernet {
  readonly #keys: KeyParts[];
  readonly #fingerprint: string;

  constructor(keys: string[]) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new FernetError("FERNET_KEYS must contain at least one key");
    }
    this.#keys = keys.map((k, i) => {
      const parts = parseKey(k);
      if (parts === null) {
        throw new FernetError(`FERNET_KEYS entry ${i + 1} is not a valid Fernet key`);
      }
      return parts;
    });
    const primary = this.#keys[0]!;
    this.#fingerprint = createHash("sha256").update(primary.signing).update(primary.encryption).digest("hex").slice(0, 8);
  }

  encrypt(plaintext: string): string {
    return encryptParts(this.#keys[0]!, toBytes(plaintext), BigInt(currentSeconds(undefined)), randomBytes(IV_BYTES));
  }

  decrypt(token: string, opts?: { ttlSeconds?: number; now?: number }): string {
    const ttl = checkTtl(opts?.ttlSeconds);
    const now = currentSeconds(opts?.now);
    const { plaintext } = this.#decryptAny(token, ttl, now);
    try {
      return utf8Strict.decode(plaintext);
    } catch {
      throw new FernetError("decrypted token is not valid UTF-8");
    }
  }

  /** Decrypt with any key (no TTL check) and re-encrypt under the first key, keeping the timestamp. */
  rotate(token: string): string {
    const { plaintext, timestamp } = this.#decryptAny(token, undefined, currentSeconds(undefined));
    return encryptParts(this.#keys[0]!, plaintext, timestamp, randomBytes(IV_BYTES));
  }

  /** First 8 hex chars of sha256(raw 32-byte primary key); safe to log. */
  get primaryKeyFingerprint(): string {
    return this.#fingerprint;
  }

  #decryptAny(token: string, ttl: number | undefined, now: number): Decrypted {
    for (const key of this.#keys) {
      try {
        return decryptParts(key, token, ttl, now);
      } catch (err) {
        if (!(err instanceof FernetError)) throw err;
      }
    }
    throw new FernetError(INVALID_TOKEN);
  }
}
