// The audio path of voice transcription: the 48 → 16 kHz decimator gives the same samples
// whatever pieces the decoder hands it, and decoding on a worker thread gives what decoding
// in place does.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Decimator, decodeOggOpus, decodeOggOpusOffThread, AudioDecodeError } from "../../src/stt/audio.ts";

const NOTE = new Uint8Array(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/voice/nota.ogg")));

test("the decimator's output does not depend on how its input is cut", () => {
  const input = Float32Array.from({ length: 48_000 }, (_, i) => Math.sin(i / 7) * 0.5 + Math.sin(i / 301) * 0.3);
  const whole = new Decimator(3);
  whole.push(input, true);
  const expected = whole.result();
  assert.equal(expected.length, 16_000);
  const pieces = new Decimator(3);
  let at = 0;
  for (const n of [1, 2, 50, 7, 1000, 3, 9999, 17]) {
    pieces.push(input.subarray(at, at + n));
    at += n;
  }
  pieces.push(input.subarray(at), true);
  const got = pieces.result();
  assert.equal(got.length, expected.length);
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 1e-6, `sample ${i}`);
});

test("a real OGG/Opus note decodes to 16 kHz mono, the same on a worker thread", async () => {
  const here = await decodeOggOpus(NOTE);
  const there = await decodeOggOpusOffThread(NOTE);
  assert.ok(Math.abs(here.seconds - 5.78) < 0.05, `${here.seconds} s`);
  assert.equal(there.pcm.length, here.pcm.length);
  assert.deepEqual(there.pcm, here.pcm);
});

test("bytes that are not OGG/Opus are a decode error (the note fails for good), on the thread too", async () => {
  await assert.rejects(decodeOggOpusOffThread(new TextEncoder().encode("not audio at all")), AudioDecodeError);
});
