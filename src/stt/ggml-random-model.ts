// Writes a whisper model file in whisper.cpp's ggml layout with random weights. No real weights
// can be downloaded where the tests and benchmarks run, so they run the real loader and the real
// inference on a model whose layout is real and whose output is nonsense. The layout is
// whisper.cpp's `whisper_model_load`: magic, hparams, mel filters, vocabulary, then each tensor
// as (n_dims, name length, type, dims fastest-first, name, data).
import fs from "node:fs";

export interface WhisperDims {
  n_audio_state: number;
  n_audio_head: number;
  n_audio_layer: number;
  n_text_state: number;
  n_text_head: number;
  n_text_layer: number;
}

/** OpenAI's sizes: what the benchmark measures. */
export const WHISPER_SIZES: Record<string, WhisperDims> = {
  tiny: { n_audio_state: 384, n_audio_head: 6, n_audio_layer: 4, n_text_state: 384, n_text_head: 6, n_text_layer: 4 },
  base: { n_audio_state: 512, n_audio_head: 8, n_audio_layer: 6, n_text_state: 512, n_text_head: 8, n_text_layer: 6 },
  /** A few MB that loads in milliseconds: for tests. */
  test: { n_audio_state: 64, n_audio_head: 2, n_audio_layer: 1, n_text_state: 64, n_text_head: 2, n_text_layer: 1 },
};

const MAGIC = 0x67676d6c;
const N_VOCAB = 51865; // multilingual: language tokens exist, so any language_code works
const N_AUDIO_CTX = 1500;
const N_TEXT_CTX = 448;
const N_MELS = 80;
const N_FFT = 201;
/** Tokens written to the file (GPT-2's BPE size); whisper.cpp names the special ones after it. */
const N_FILE_TOKENS = 50257;

type TType = 0 | 1; // f32, f16

export function writeRandomWhisperModel(file: string, dims: WhisperDims, seed = 1): number {
  const fd = fs.openSync(file, "w");
  let rng = seed >>> 0 || 1;
  const rand = () => {
    // xorshift32, in [-1, 1)
    rng ^= rng << 13;
    rng >>>= 0;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    rng >>>= 0;
    return rng / 2 ** 31 - 1;
  };
  let written = 0;
  const write = (b: Buffer) => {
    fs.writeSync(fd, b);
    written += b.length;
  };
  const i32s = (...v: number[]) => {
    const b = Buffer.alloc(4 * v.length);
    for (const [i, x] of v.entries()) b.writeInt32LE(x, 4 * i);
    write(b);
  };
  try {
    i32s(
      MAGIC,
      N_VOCAB,
      N_AUDIO_CTX,
      dims.n_audio_state,
      dims.n_audio_head,
      dims.n_audio_layer,
      N_TEXT_CTX,
      dims.n_text_state,
      dims.n_text_head,
      dims.n_text_layer,
      N_MELS,
      1 /* ftype: f16 */,
    );
    // Mel filter bank: small positive values (real filters are triangles; any will do for random weights).
    i32s(N_MELS, N_FFT);
    const filters = new Float32Array(N_MELS * N_FFT);
    for (let i = 0; i < filters.length; i++) filters[i] = Math.abs(rand()) * 0.01;
    write(Buffer.from(filters.buffer));
    // Vocabulary: every single byte (a space among them), then short made-up words.
    i32s(N_FILE_TOKENS);
    const parts: Buffer[] = [];
    for (let i = 0; i < N_FILE_TOKENS; i++) {
      const word = i < 256 ? Buffer.from([i]) : Buffer.from(`${i % 3 === 0 ? " " : ""}w${i.toString(36)}`);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(word.length);
      parts.push(len, word);
    }
    write(Buffer.concat(parts));

    const tensor = (name: string, ne: number[], type: TType, fill: "random" | "one" | "zero" = "random", scale = 0.05) => {
      const nameBuf = Buffer.from(name);
      i32s(ne.length, nameBuf.length, type, ...ne);
      write(nameBuf);
      const n = ne.reduce((a, b) => a * b, 1);
      let data: Buffer;
      if (type === 0) {
        const f = new Float32Array(n);
        if (fill !== "zero") for (let i = 0; i < n; i++) f[i] = fill === "one" ? 1 : rand() * scale;
        data = Buffer.from(f.buffer);
      } else {
        const h = new Uint16Array(n);
        if (fill !== "zero") for (let i = 0; i < n; i++) h[i] = toHalf(fill === "one" ? 1 : rand() * scale);
        data = Buffer.from(h.buffer);
      }
      write(data);
    };
    const block = (prefix: string, s: number, cross: boolean) => {
      tensor(`${prefix}.mlp_ln.weight`, [s], 0, "one");
      tensor(`${prefix}.mlp_ln.bias`, [s], 0, "zero");
      tensor(`${prefix}.mlp.0.weight`, [s, 4 * s], 1);
      tensor(`${prefix}.mlp.0.bias`, [4 * s], 0, "zero");
      tensor(`${prefix}.mlp.2.weight`, [4 * s, s], 1);
      tensor(`${prefix}.mlp.2.bias`, [s], 0, "zero");
      for (const a of cross ? ["attn", "cross_attn"] : ["attn"]) {
        tensor(`${prefix}.${a}_ln.weight`, [s], 0, "one");
        tensor(`${prefix}.${a}_ln.bias`, [s], 0, "zero");
        tensor(`${prefix}.${a}.query.weight`, [s, s], 1);
        tensor(`${prefix}.${a}.query.bias`, [s], 0, "zero");
        tensor(`${prefix}.${a}.key.weight`, [s, s], 1);
        tensor(`${prefix}.${a}.value.weight`, [s, s], 1);
        tensor(`${prefix}.${a}.value.bias`, [s], 0, "zero");
        tensor(`${prefix}.${a}.out.weight`, [s, s], 1);
        tensor(`${prefix}.${a}.out.bias`, [s], 0, "zero");
      }
    };
    const sa = dims.n_audio_state;
    tensor("encoder.positional_embedding", [sa, N_AUDIO_CTX], 0);
    tensor("encoder.conv1.weight", [3, N_MELS, sa], 1);
    tensor("encoder.conv1.bias", [1, sa], 0, "zero");
    tensor("encoder.conv2.weight", [3, sa, sa], 1);
    tensor("encoder.conv2.bias", [1, sa], 0, "zero");
    tensor("encoder.ln_post.weight", [sa], 0, "one");
    tensor("encoder.ln_post.bias", [sa], 0, "zero");
    for (let i = 0; i < dims.n_audio_layer; i++) block(`encoder.blocks.${i}`, sa, false);
    const st = dims.n_text_state;
    tensor("decoder.positional_embedding", [st, N_TEXT_CTX], 0);
    tensor("decoder.token_embedding.weight", [st, N_VOCAB], 1);
    tensor("decoder.ln.weight", [st], 0, "one");
    tensor("decoder.ln.bias", [st], 0, "zero");
    for (let i = 0; i < dims.n_text_layer; i++) block(`decoder.blocks.${i}`, st, true);
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** IEEE 754 half precision (round to nearest; small values flush to zero — fine for random weights). */
function toHalf(v: number): number {
  F32[0] = v;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | ((exp << 10) + ((mant + 0x1000) >>> 13)); // a rounding carry moves into the exponent, as it should
}
