import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createHmac } from "node:crypto";
import { inspect } from "node:util";

import { FernetError, MultiFernet, decrypt, encrypt, generateKey, isValidKey } from "../../src/crypto/fernet.ts";

// Official vectors from github.com/fernet/spec (see test/fixtures/fernet/README.md).
const FIXTURES = fileURLToPath(new URL("../fixtures/fernet/", import.meta.url));

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

function load<T>(name: string): T[] {
  const parsed: unknown = JSON.parse(readFileSync(FIXTURES + name, "utf8"));
  assert.ok(Array.isArray(parsed) && parsed.length > 0, `${name} must be a non-empty array`);
  return parsed as T[];
}

const generateVectors = load<GenerateVector>("generate.json");
const verifyVectors = load<VerifyVector>("verify.json");
const invalidVectors = load<InvalidVector>("invalid.json");

function isoToSeconds(iso: string): number {
  const ms = Date.parse(iso);
  assert.ok(Number.isFinite(ms), `bad date in vector: ${iso}`);
  return Math.floor(ms / 1000);
}

function b64urlDecode(s: string): Buffer {
  return Buffer.from(s.replace(/=+$/, ""), "base64url");
}

function b64urlEncode(b: Buffer): string {
  const s = b.toString("base64url");
  return s + "=".repeat((4 - (s.length % 4)) % 4);
}

/** Assert `fn` throws a FernetError whose message leaks none of `secrets`. */
function assertRejects(fn: () => unknown, secrets: string[]): FernetError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FernetError, `expected FernetError, got ${String(caught)}`);
  for (const s of secrets) {
    if (s.length === 0) continue;
    assert.ok(!caught.message.includes(s), "error message leaks secret data");
    assert.ok(!String(caught.stack).includes(s), "error stack leaks secret data");
  }
  return caught;
}

describe("fernet: official vectors", () => {
  describe("generate.json", () => {
    for (const [i, v] of generateVectors.entries()) {
      it(`vector ${i}: encrypt(src, iv, now) == token`, () => {
        const token = encrypt(v.secret, v.src, {
          iv: Uint8Array.from(v.iv),
          now: isoToSeconds(v.now),
        });
        assert.equal(token, v.token);
        // and it decrypts back
        assert.equal(decrypt(v.secret, token).toString("utf8"), v.src);
      });
    }
  });

  describe("verify.json", () => {
    for (const [i, v] of verifyVectors.entries()) {
      it(`vector ${i}: decrypt(token, ttl, now) == src`, () => {
        const out = decrypt(v.secret, v.token, { ttlSeconds: v.ttl_sec, now: isoToSeconds(v.now) });
        assert.ok(Buffer.isBuffer(out));
        assert.equal(out.toString("utf8"), v.src);
        const mf = new MultiFernet([generateKey(), v.secret]);
        assert.equal(mf.decrypt(v.token, { ttlSeconds: v.ttl_sec, now: isoToSeconds(v.now) }), v.src);
      });
    }
  });

  describe("invalid.json", () => {
    for (const v of invalidVectors) {
      it(`rejects: ${v.desc}`, () => {
        const opts = { ttlSeconds: v.ttl_sec, now: isoToSeconds(v.now) };
        assertRejects(() => decrypt(v.secret, v.token, opts), [v.secret, v.token]);
        const mf = new MultiFernet([v.secret]);
        assertRejects(() => mf.decrypt(v.token, opts), [v.secret, v.token]);
      });
    }
  });

  it("checked every vector", () => {
    // 1 generate + 1 verify + 8 invalid at spec commit 20dead4.
    assert.equal(generateVectors.length + verifyVectors.length + invalidVectors.length, 10);
  });
});

describe("fernet: keys", () => {
  it("generateKey gives padded url-safe base64 of 32 bytes", () => {
    for (let i = 0; i < 20; i++) {
      const k = generateKey();
      assert.match(k, /^[A-Za-z0-9_-]{43}=$/);
      assert.equal(b64urlDecode(k).length, 32);
      assert.ok(isValidKey(k));
    }
    assert.notEqual(generateKey(), generateKey());
  });

  it("isValidKey", () => {
    const k = generateKey();
    assert.equal(isValidKey(k), true);
    assert.equal(isValidKey(k.replace(/=+$/, "")), true, "unpadded key accepted");
    assert.equal(isValidKey(""), false);
    assert.equal(isValidKey("not a key"), false);
    assert.equal(isValidKey(b64urlEncode(Buffer.alloc(31))), false);
    assert.equal(isValidKey(b64urlEncode(Buffer.alloc(33))), false);
    assert.equal(isValidKey(Buffer.alloc(32, 0xfb).toString("base64")), false, "standard base64 (+/) rejected");
    assert.equal(isValidKey(k + "\n"), false);
    assert.equal(isValidKey(k + "=="), false, "too much padding");
    assert.equal(isValidKey(undefined as unknown as string), false);
  });

  it("encrypt/decrypt with a bad key throw FernetError without the key", () => {
    const bad = "this-is-not-a-valid-fernet-key";
    assertRejects(() => encrypt(bad, "x"), [bad]);
    assertRejects(() => decrypt(bad, "gAAAA"), [bad]);
  });
});

describe("fernet: round trip and layout", () => {
  it("round trips strings and bytes with a random key", () => {
    const key = generateKey();
    for (const text of ["", "hello", "ünïcødé ✓ 🎉", "x".repeat(1000)]) {
      assert.equal(decrypt(key, encrypt(key, text)).toString("utf8"), text);
    }
    const bytes = new Uint8Array([0, 255, 1, 254, 128]);
    assert.deepEqual(new Uint8Array(decrypt(key, encrypt(key, bytes))), bytes);
  });

  it("tokens use random IVs", () => {
    const key = generateKey();
    assert.notEqual(encrypt(key, "same"), encrypt(key, "same"));
  });

  it("has the Python-compatible layout", () => {
    const key = generateKey();
    const now = 1_700_000_000;
    const iv = Buffer.alloc(16, 7);
    const plaintext = "hello world, this is 33 bytes!!!!"; // 33 bytes -> 48 bytes of ciphertext
    const token = encrypt(key, plaintext, { iv, now });
    assert.match(token, /^[A-Za-z0-9_-]+={0,2}$/);
    assert.equal(token.length % 4, 0, "padded");
    const raw = b64urlDecode(token);
    assert.equal(raw[0], 0x80);
    assert.equal(raw.readBigUInt64BE(1), BigInt(now));
    assert.deepEqual(raw.subarray(9, 25), iv);
    const ciphertextLen = raw.length - 57;
    assert.equal(ciphertextLen, 48);
    assert.equal(ciphertextLen % 16, 0);
    const signingKey = b64urlDecode(key).subarray(0, 16);
    const mac = createHmac("sha256", signingKey)
      .update(raw.subarray(0, raw.length - 32))
      .digest();
    assert.deepEqual(raw.subarray(raw.length - 32), mac);
  });

  it("accepts tokens without padding, rejects standard base64 characters", () => {
    const v = generateVectors[0]!;
    const unpadded = v.token.replace(/=+$/, "");
    assert.equal(decrypt(v.secret, unpadded).toString("utf8"), v.src);
    const std = Buffer.from(b64urlDecode(v.token)).toString("base64");
    if (/[+/]/.test(std)) assertRejects(() => decrypt(v.secret, std), [v.secret]);
    assertRejects(() => decrypt(v.secret, v.token + "\n"), [v.secret]);
    assertRejects(() => decrypt(v.secret, ""), [v.secret]);
  });

  it("rejects a bad version byte and empty ciphertext even with a valid HMAC", () => {
    const key = generateKey();
    const signingKey = b64urlDecode(key).subarray(0, 16);
    const sign = (body: Buffer) => b64urlEncode(Buffer.concat([body, createHmac("sha256", signingKey).update(body).digest()]));
    const good = b64urlDecode(encrypt(key, "hi", { now: 1000 }));
    const body = Buffer.from(good.subarray(0, good.length - 32));
    body[0] = 0x81;
    assertRejects(() => decrypt(key, sign(body)), [key]);
    const empty = Buffer.from(good.subarray(0, 25)); // header + iv, no ciphertext
    assertRejects(() => decrypt(key, sign(empty)), [key]);
  });

  it("TTL and clock-skew boundaries", () => {
    const key = generateKey();
    const ts = 1_000_000;
    const token = encrypt(key, "t", { now: ts });
    assert.equal(decrypt(key, token, { ttlSeconds: 60, now: ts + 60 }).toString(), "t");
    assertRejects(() => decrypt(key, token, { ttlSeconds: 60, now: ts + 61 }), [key, token]);
    assert.equal(decrypt(key, token, { ttlSeconds: 60, now: ts - 60 }).toString(), "t");
    assertRejects(() => decrypt(key, token, { ttlSeconds: 60, now: ts - 61 }), [key, token]);
    // without a TTL, like cryptography, no age / skew check
    assert.equal(decrypt(key, token, { now: ts + 10_000 }).toString(), "t");
    assert.throws(() => decrypt(key, token, { ttlSeconds: -1 }), FernetError);
  });

  it("wrong key is rejected without leaking", () => {
    const a = generateKey();
    const b = generateKey();
    const plaintext = "top secret plaintext";
    const token = encrypt(a, plaintext);
    assertRejects(() => decrypt(b, token), [a, b, token, plaintext]);
  });
});

describe("fernet: MultiFernet", () => {
  it("decrypts tokens of every key and encrypts with the first", () => {
    const k1 = generateKey();
    const k2 = generateKey();
    const mf = new MultiFernet([k1, k2]);
    assert.equal(mf.decrypt(encrypt(k1, "one")), "one");
    assert.equal(mf.decrypt(encrypt(k2, "two")), "two");
    const t = mf.encrypt("three");
    assert.equal(decrypt(k1, t).toString("utf8"), "three");
    assertRejects(() => decrypt(k2, t), [k1, k2, t]);
    assertRejects(() => mf.decrypt(encrypt(generateKey(), "x")), [k1, k2]);
  });

  it("rotate re-encrypts under the first key and keeps the timestamp", () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    const ts = 1_600_000_000;
    const oldToken = encrypt(oldKey, "rotate me", { now: ts });
    const mf = new MultiFernet([newKey, oldKey]);
    const rotated = mf.rotate(oldToken);
    assert.notEqual(rotated, oldToken);
    assert.equal(new MultiFernet([newKey]).decrypt(rotated), "rotate me");
    assertRejects(() => decrypt(oldKey, rotated), [oldKey, newKey]);
    assert.equal(b64urlDecode(rotated).readBigUInt64BE(1), BigInt(ts));
    // rotating an already-rotated token works too; unknown tokens are rejected
    assert.equal(new MultiFernet([newKey]).decrypt(mf.rotate(rotated)), "rotate me");
    assertRejects(() => new MultiFernet([newKey]).rotate(encrypt(generateKey(), "x")), [newKey]);
  });

  it("rejects an empty key list and names the bad position, not the key", () => {
    assertRejects(() => new MultiFernet([]), []);
    const good = generateKey();
    const bad = "definitely-not-a-fernet-key-value";
    const err = assertRejects(() => new MultiFernet([good, bad]), [good, bad]);
    assert.match(err.message, /FERNET_KEYS entry 2 is not a valid Fernet key/);
    const err1 = assertRejects(() => new MultiFernet([bad]), [bad]);
    assert.match(err1.message, /entry 1\b/);
  });

  it("decrypt returns utf8 and rejects non-UTF-8 plaintext", () => {
    const k = generateKey();
    const mf = new MultiFernet([k]);
    assert.equal(mf.decrypt(encrypt(k, "héllo")), "héllo");
    assertRejects(() => mf.decrypt(encrypt(k, new Uint8Array([0xff, 0xfe]))), [k]);
  });

  it("honours ttlSeconds/now", () => {
    const k = generateKey();
    const mf = new MultiFernet([k]);
    const token = encrypt(k, "ttl", { now: 5000 });
    assert.equal(mf.decrypt(token, { ttlSeconds: 10, now: 5010 }), "ttl");
    assertRejects(() => mf.decrypt(token, { ttlSeconds: 10, now: 5011 }), [k, token]);
  });

  it("primaryKeyFingerprint is short, stable and not the key", () => {
    const k1 = generateKey();
    const k2 = generateKey();
    const fp = new MultiFernet([k1, k2]).primaryKeyFingerprint;
    assert.match(fp, /^[0-9a-f]{8}$/);
    assert.equal(new MultiFernet([k1]).primaryKeyFingerprint, fp);
    assert.equal(new MultiFernet([k1.replace(/=+$/, "")]).primaryKeyFingerprint, fp);
    assert.notEqual(new MultiFernet([k2, k1]).primaryKeyFingerprint, fp);
    // the instance does not expose key material when logged
    const shown = inspect(new MultiFernet([k1, k2]), { showHidden: true, depth: 5 });
    for (const k of [k1, k2]) {
      assert.ok(!shown.includes(k) && !shown.includes(b64urlDecode(k).toString("hex")));
    }
  });
});
