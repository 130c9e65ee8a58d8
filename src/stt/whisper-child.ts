// The child process that runs whisper.cpp (STT_PROVIDER=local). Transcription is seconds of
// native CPU work: in its own process, at a lower scheduling priority, it can never block or
// crash the event loop that answers Telegram's webhooks. The parent sends 16 kHz PCM over IPC
// (advanced serialization: a Float32Array travels as bytes) and gets segments back as they are
// decoded (progress for long notes), then the whole result.
import { loadWhisperBinding, type WhisperInstance } from "./whisper-runtime.ts";

type Request = { type: "transcribe"; id: number; pcm: Float32Array; language?: string; threads: number; seconds: number; params: Record<string, unknown> };
type Reply =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "progress"; id: number; fraction: number }
  | { type: "done"; id: number; text: string; language?: string }
  | { type: "error"; id: number; message: string };

const send = (m: Reply) => process.send?.(m);
const modelPath = process.argv[2]!;

let whisper: WhisperInstance;
try {
  const { Whisper } = loadWhisperBinding();
  // offload 0: keep the model loaded for the life of this process (the parent owns its lifetime).
  whisper = new Whisper(modelPath, { gpu: false, offload: 0 });
  await whisper.load();
  send({ type: "ready" });
} catch (err) {
  send({ type: "fatal", message: (err as Error).message });
  process.exit(1);
}

let queue = Promise.resolve();
process.on("message", (m: Request) => {
  if (m.type !== "transcribe") return;
  queue = queue.then(() => run(m));
});
process.on("disconnect", () => process.exit(0));

async function run(m: Request): Promise<void> {
  try {
    const task = await whisper.transcribe(m.pcm, {
      language: m.language ?? "auto",
      n_threads: m.threads,
      format: "detail",
      suppress_non_speech_tokens: true,
      ...m.params,
    });
    task.on("transcribed", (seg) => send({ type: "progress", id: m.id, fraction: Math.min(1, seg.to / 1000 / Math.max(1, m.seconds)) }));
    const segments = await task.result;
    send({
      type: "done",
      id: m.id,
      text: segments
        .map((s) => s.text)
        .join("")
        .trim(),
      language: segments.find((s) => s.lang)?.lang,
    });
  } catch (err) {
    send({ type: "error", id: m.id, message: (err as Error).message });
  }
}
