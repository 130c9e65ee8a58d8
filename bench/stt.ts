// Voice transcription benchmark (issue 14): real-time factor of whisper.cpp (STT_PROVIDER=local)
// for a 10 s and a 60 s note with tiny- and base-sized models (random weights in the real ggml
// layout: no real weights can be downloaded here, and whisper.cpp's cost depends on the sizes,
// not the values — though random weights may decode more or fewer tokens than real ones), the
// child's peak memory, and the webhook's latency with and without a transcription running.
//
//   node --import tsx bench/stt.ts            (needs `npx joe-telegram stt install` first)
//
// Random weights never reach whisper's confidence thresholds, so with whisper.cpp's defaults every
// 30 s window would be decoded again at 5 rising temperatures with 5 candidates each — a cost real
// models pay rarely. The benchmark turns that fallback off (temperature_inc 0): one greedy pass per
// window, which is what a real model does on clear speech. Random weights also never emit the end
// token, so each window decodes its full 224 tokens: more than real speech needs (~100 per 30 s) —
// the figures are an upper bound for the decoder's share.
//
// Writes bench/.tmp/stt-results.json and prints a Markdown table for bench/NOTES.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { writeRandomWhisperModel, WHISPER_SIZES } from "../src/stt/ggml-random-model.ts";
import { decodeOggOpus, type DecodedAudio } from "../src/stt/audio.ts";
import { localWhisperProvider } from "../src/stt/providers/local.ts";
import { whisperInstalled } from "../src/stt/whisper-runtime.ts";
import { createLogger } from "../src/log.ts";
import { dbTargets } from "../test/support/databases.ts";
import { startStack } from "../test/support/stack.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
if (!whisperInstalled()) {
  console.error("whisper.cpp is not built: run `npx joe-telegram stt install` first");
  process.exit(1);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "joe-stt-bench-"));
const note = await decodeOggOpus(new Uint8Array(fs.readFileSync(path.join(here, "../test/fixtures/voice/nota.ogg"))));

function tile(a: DecodedAudio, seconds: number): DecodedAudio {
  const n = seconds * 16_000;
  const pcm = new Float32Array(n);
  for (let i = 0; i < n; i++) pcm[i] = a.pcm[i % a.pcm.length]!;
  return { pcm, seconds };
}

/** Peak resident memory (VmHWM) of this process's children, in MB. */
function childrenPeakMb(): number {
  let peak = 0;
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== process.pid) continue;
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* gone */
    }
  }
  return peak;
}

const threads = Math.max(1, os.cpus().length);
const rows: Array<Record<string, unknown>> = [];
for (const size of ["tiny", "base"] as const) {
  const file = path.join(tmp, `ggml-random-${size}.bin`);
  writeRandomWhisperModel(file, WHISPER_SIZES[size]!);
  const provider = localWhisperProvider({ modelPath: file, threads, logger: createLogger("silent"), timeoutBaseMs: 600_000, params: { temperature_inc: 0 } });
  // Load the model once (not measured: the worker keeps it loaded).
  await provider.transcribe({ ogg: new Uint8Array(), audio: tile(note, 1), signal: new AbortController().signal });
  for (const seconds of [10, 60]) {
    const audio = tile(note, seconds);
    const times: number[] = [];
    let chars = 0;
    for (let run = 0; run < 2; run++) {
      const t0 = performance.now();
      const t = await provider.transcribe({ ogg: new Uint8Array(), audio, language: "es", signal: new AbortController().signal });
      times.push((performance.now() - t0) / 1000);
      chars = t.text.length;
    }
    const best = Math.min(...times);
    rows.push({
      model: size,
      audio_s: seconds,
      runs_s: times.map((x) => +x.toFixed(2)),
      rtf_best: +(best / seconds).toFixed(3),
      chars,
      peak_mb: Math.round(childrenPeakMb()),
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
  await provider.close?.();
}

// Webhook latency, with and without a transcription running (SQLite, in-process server).
const target = dbTargets()[0]!;
const stack = await startStack(target, { env: { LOG_LEVEL: "warn" } });
const bot = await stack.addBot();
await stack.link(bot, 9999);
async function latencies(ms: number): Promise<number[]> {
  const out: number[] = [];
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const r = await stack.sendText(bot, 9999, "bench message");
        if (r.status === 200) out.push(performance.now() - t0);
      }
    }),
  );
  return out.sort((a, b) => a - b);
}
const pct = (a: number[], p: number) => +a[Math.min(a.length - 1, Math.floor(a.length * p))]!.toFixed(1);
const baseFile = path.join(tmp, "ggml-random-base.bin");
writeRandomWhisperModel(baseFile, WHISPER_SIZES.base!);
const busy = localWhisperProvider({ modelPath: baseFile, threads, logger: createLogger("silent"), timeoutBaseMs: 600_000, params: { temperature_inc: 0 } });
await busy.transcribe({ ogg: new Uint8Array(), audio: tile(note, 1), signal: new AbortController().signal });
const latency: Record<string, unknown> = {};
for (let round = 0; round < 2; round++) {
  // A/B twice, alternating
  const idle = await latencies(5000);
  let running = true;
  const job = (async () => {
    while (running) await busy.transcribe({ ogg: new Uint8Array(), audio: tile(note, 30), signal: new AbortController().signal });
  })();
  await new Promise((r) => setTimeout(r, 500));
  const withStt = await latencies(5000);
  running = false;
  await job;
  latency[`round${round + 1}`] = {
    idle: { n: idle.length, p50: pct(idle, 0.5), p99: pct(idle, 0.99) },
    transcribing: { n: withStt.length, p50: pct(withStt, 0.5), p99: pct(withStt, 0.99) },
  };
  console.error(JSON.stringify(latency[`round${round + 1}`]));
}
await busy.close?.();
await stack.stop();
fs.rmSync(tmp, { recursive: true, force: true });

let commit = "";
try {
  commit = execSync("git rev-parse --short HEAD", { cwd: here }).toString().trim();
} catch {
  /* not a checkout */
}
const result = {
  command: "node --import tsx bench/stt.ts",
  commit,
  at: new Date().toISOString(),
  cpus: os.cpus().length,
  loadavg: os.loadavg().map((x) => +x.toFixed(1)),
  threads,
  rows,
  latency,
};
fs.mkdirSync(path.join(here, ".tmp"), { recursive: true });
fs.writeFileSync(path.join(here, ".tmp/stt-results.json"), JSON.stringify(result, null, 2));
console.log(`| model | note | runs (s) | best RTF | child peak RSS |\n|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.model} | ${r.audio_s} s | ${(r.runs_s as number[]).join(", ")} | ${r.rtf_best} | ${r.peak_mb} MB |`);
console.log(JSON.stringify(latency));
