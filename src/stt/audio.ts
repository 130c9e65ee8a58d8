// Voice notes arrive as OGG/Opus (48 kHz); whisper wants 16 kHz mono float PCM. Decoding is
// ogg-opus-decoder (libopus compiled to WebAssembly: no native build, no ffmpeg needed on the
// user's machine); the 48 → 16 kHz step is an exact factor of 3, done here with a low-pass FIR
// filter and decimation — a few lines, where a general resampler library would add a dependency
// for one fixed ratio. The file is decoded a piece at a time and each piece resampled at once,
// so a long note never exists as 48 kHz samples in memory; `decodeOggOpusOffThread` runs it all
// on a worker thread, so the event loop that answers webhooks never waits for it.
import { Worker } from "node:worker_threads";
import { OggOpusDecoder } from "ogg-opus-decoder";

export const WHISPER_RATE = 16_000;
const OPUS_RATE = 48_000;
/** Bytes of the file handed to the decoder at a time. */
const FEED_BYTES = 64 * 1024;

export interface DecodedAudio {
  /** 16 kHz mono samples in [-1, 1]. */
  pcm: Float32Array;
  seconds: number;
}

export class AudioDecodeError extends Error {}

/** A windowed-sinc low-pass FIR (cut-off just under the new Nyquist), fed piece by piece, keeping every `factor`-th output. */
export class Decimator {
  private readonly h: Float32Array;
  private readonly half: number;
  /** Input not yet consumed (the filter's history included). */
  private pending = new Float32Array(0);
  /** Absolute index of pending[0] in the whole input. */
  private offset = 0;
  /** Next output's centre, as an absolute input index. */
  private nextCentre = 0;
  private readonly out: Float32Array[] = [];
  private outLength = 0;

  constructor(private readonly factor: number) {
    const taps = 8 * factor * 2 + 1;
    this.half = (taps - 1) / 2;
    const cutoff = 0.9 / factor / 2; // cycles per input sample
    this.h = new Float32Array(taps);
    let sum = 0;
    for (let i = 0; i < taps; i++) {
      const x = i - this.half;
      const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
      const blackman = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
      this.h[i] = sinc * blackman;
      sum += this.h[i]!;
    }
    for (let i = 0; i < taps; i++) this.h[i]! /= sum;
  }

  push(input: Float32Array, last = false): void {
    const all = new Float32Array(this.pending.length + input.length);
    all.set(this.pending);
    all.set(input, this.pending.length);
    const end = this.offset + all.length; // absolute end of what we have
    const outs: number[] = [];
    // An output needs its window's right half; at the end of the input, missing samples are zero.
    while (this.nextCentre < end && (last || this.nextCentre + this.half < end)) {
      let acc = 0;
      for (let k = 0; k < this.h.length; k++) {
        const j = this.nextCentre + k - this.half - this.offset;
        if (j >= 0 && j < all.length) acc += all[j]! * this.h[k]!;
      }
      outs.push(acc);
      this.nextCentre += this.factor;
    }
    if (outs.length) {
      this.out.push(Float32Array.from(outs));
      this.outLength += outs.length;
    }
    // Keep what the next outputs' windows still reach.
    const keepFrom = Math.max(0, this.nextCentre - this.half - this.offset);
    this.pending = all.slice(keepFrom);
    this.offset += keepFrom;
  }

  result(): Float32Array {
    const r = new Float32Array(this.outLength);
    let at = 0;
    for (const o of this.out) {
      r.set(o, at);
      at += o.length;
    }
    return r;
  }
}

/** Decodes a whole OGG/Opus file to 16 kHz mono, a piece at a time (on the calling thread). */
export async function decodeOggOpus(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  const decimator = new Decimator(OPUS_RATE / WHISPER_RATE);
  let decoded = 0;
  let firstError: string | undefined;
  try {
    for (let at = 0; at < bytes.length; at += FEED_BYTES) {
      // (typed as synchronous, but a promise in this version: awaiting covers both)
      const out = await decoder.decode(bytes.subarray(at, Math.min(bytes.length, at + FEED_BYTES)));
      firstError ??= out.errors?.[0]?.message;
      if (out.samplesDecoded > 0) {
        decimator.push(downmix(out.channelData, out.samplesDecoded));
        decoded += out.samplesDecoded;
      }
    }
    const tail = await decoder.flush();
    if (tail.samplesDecoded > 0) {
      decimator.push(downmix(tail.channelData, tail.samplesDecoded));
      decoded += tail.samplesDecoded;
    }
  } finally {
    decoder.free();
  }
  if (decoded === 0) throw new AudioDecodeError(firstError ? `not a readable OGG/Opus file: ${firstError}` : "not a readable OGG/Opus file (no audio decoded)");
  decimator.push(new Float32Array(0), true);
  const pcm = decimator.result();
  return { pcm, seconds: pcm.length / WHISPER_RATE };
}

function downmix(channels: Float32Array[], n: number): Float32Array {
  if (channels.length === 1) return channels[0]!.slice(0, n);
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i]! += ch[i]! / channels.length;
  return out;
}

const THREAD = new URL(import.meta.url.endsWith(".ts") ? "./decode-thread.ts" : "./decode-thread.js", import.meta.url);

/** decodeOggOpus on a worker thread of its own (one per note): the caller's event loop stays free. */
export function decodeOggOpusOffThread(bytes: Uint8Array): Promise<DecodedAudio> {
  return new Promise((resolve, reject) => {
    // Run from the TypeScript sources (tests, tsx), the thread registers tsx itself first: loader
    // flags given to the process do not reach worker threads.
    const w = import.meta.url.endsWith(".ts")
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((m) => { m.register(); return import(${JSON.stringify(THREAD.href)}); });`,
          { eval: true, workerData: bytes },
        )
      : new Worker(THREAD, { workerData: bytes });
    let settled = false;
    w.once("message", (m: { ok: true; pcm: Float32Array; seconds: number } | { ok: false; message: string; decode: boolean }) => {
      settled = true;
      if (m.ok) resolve({ pcm: m.pcm, seconds: m.seconds });
      else reject(m.decode ? new AudioDecodeError(m.message) : new Error(m.message));
      void w.terminate();
    });
    w.once("error", (err) => {
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    w.once("exit", (code) => {
      if (!settled) {
        settled = true;
        reject(new Error(`the decoding thread exited (${code})`));
      }
    });
  });
}

/** 16-bit PCM WAV of 16 kHz mono samples (what OpenAI-compatible servers all accept, and whisper.cpp's CLI reads). */
export function wavFromPcm(pcm: Float32Array): Buffer {
  const data = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(pcm[i]! * 32767))), i * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(WHISPER_RATE, 24);
  header.writeUInt32LE(WHISPER_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
