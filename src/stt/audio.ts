// Voice notes arrive as OGG/Opus (48 kHz); whisper wants 16 kHz mono float PCM. Decoding is
// ogg-opus-decoder (libopus compiled to WebAssembly: no native build, no ffmpeg needed on the
// user's machine); the 48 → 16 kHz step is an exact factor of 3, done here with a low-pass FIR
// filter and decimation — a few lines, where a general resampler library would add a dependency
// for one fixed ratio.
import { OggOpusDecoder } from "ogg-opus-decoder";

export const WHISPER_RATE = 16_000;

export interface DecodedAudio {
  /** 16 kHz mono samples in [-1, 1]. */
  pcm: Float32Array;
  seconds: number;
}

export class AudioDecodeError extends Error {}

/** Decodes a whole OGG/Opus file to 16 kHz mono. */
export async function decodeOggOpus(bytes: Uint8Array): Promise<DecodedAudio> {
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  try {
    const out = await decoder.decodeFile(bytes);
    if (out.samplesDecoded === 0 || out.channelData.length === 0) {
      throw new AudioDecodeError(out.errors[0]?.message ? `not a readable OGG/Opus file: ${out.errors[0].message}` : "not a readable OGG/Opus file (no audio decoded)");
    }
    const mono = downmix(out.channelData, out.samplesDecoded);
    const pcm = resampleTo16k(mono, out.sampleRate);
    return { pcm, seconds: pcm.length / WHISPER_RATE };
  } finally {
    decoder.free();
  }
}

function downmix(channels: Float32Array[], n: number): Float32Array {
  if (channels.length === 1) return channels[0]!.subarray(0, n);
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i]! += ch[i]! / channels.length;
  return out;
}

/** A windowed-sinc low-pass FIR (cut-off just under the new Nyquist), then every `factor`-th sample. */
function decimate(input: Float32Array, factor: number): Float32Array {
  const taps = 8 * factor * 2 + 1;
  const half = (taps - 1) / 2;
  const cutoff = 0.9 / factor / 2; // in cycles per input sample
  const h = new Float32Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const x = i - half;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const blackman = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (taps - 1));
    h[i] = sinc * blackman;
    sum += h[i]!;
  }
  for (let i = 0; i < taps; i++) h[i]! /= sum;
  const out = new Float32Array(Math.floor(input.length / factor));
  for (let o = 0; o < out.length; o++) {
    const c = o * factor;
    let acc = 0;
    for (let k = 0; k < taps; k++) {
      const j = c + k - half;
      if (j >= 0 && j < input.length) acc += input[j]! * h[k]!;
    }
    out[o] = acc;
  }
  return out;
}

/** 48 kHz (Opus's rate) → 16 kHz exactly; other rates by linear interpolation (not expected from Opus). */
export function resampleTo16k(input: Float32Array, rate: number): Float32Array {
  if (rate === WHISPER_RATE) return input;
  if (rate % WHISPER_RATE === 0) return decimate(input, rate / WHISPER_RATE);
  const ratio = rate / WHISPER_RATE;
  const out = new Float32Array(Math.floor(input.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const x = i * ratio;
    const j = Math.floor(x);
    const f = x - j;
    out[i] = (input[j] ?? 0) * (1 - f) + (input[j + 1] ?? input[j] ?? 0) * f;
  }
  return out;
}

/** 16-bit PCM WAV of 16 kHz mono samples (what OpenAI-compatible servers all accept, and whisper.cpp's CLI reads). */
export function wavFromPcm(pcm: Float32Array): Buffer {
  const data = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(pcm[i]! * 32767))), i * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0); header.writeUInt32LE(36 + data.length, 4); header.write("WAVE", 8);
  header.write("fmt ", 12); header.writeUInt32LE(16, 16); header.writeUInt16LE(1, 20); header.writeUInt16LE(1, 22);
  header.writeUInt32LE(WHISPER_RATE, 24); header.writeUInt32LE(WHISPER_RATE * 2, 28); header.writeUInt16LE(2, 32); header.writeUInt16LE(16, 34);
  header.write("data", 36); header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
