// Any OpenAI-compatible transcription API (OpenAI itself, or a self-hosted whisper server that
// speaks the same protocol): multipart POST `${STT_URL}/audio/transcriptions` with `file` and
// `model`, `Authorization: Bearer ${STT_API_KEY}`. Notes up to CHUNK_SECONDS go up as the OGG
// file Telegram gave us; longer ones as WAV chunks of that length (a bounded request each,
// with progress), joined in order.
import { wavFromPcm, WHISPER_RATE } from "../audio.ts";
import { SttError, SETUP_RETRY_MS, type SttProvider, type TranscribeInput, type Transcript } from "./types.ts";

export const CHUNK_SECONDS = 600;

export interface OpenAiOptions {
  url: string;
  apiKey?: string;
  model: string;
  /** Per request: a base plus time proportional to the audio (a slow server on a long chunk is not a failure). */
  timeoutBaseMs?: number;
  timeoutPerAudioSecondMs?: number;
  /** Tries per request for 429 / 5xx / network errors before the job is retried later. */
  tries?: number;
}

export function openAiProvider(o: OpenAiOptions): SttProvider {
  const endpoint = `${o.url.replace(/\/+$/, "")}/audio/transcriptions`;
  const tries = o.tries ?? 3;

  async function post(file: Blob, filename: string, seconds: number, language: string | undefined, signal: AbortSignal): Promise<Transcript> {
    let lastError: SttError | undefined;
    for (let attempt = 1; attempt <= tries; attempt++) {
      const form = new FormData();
      form.set("file", file, filename);
      form.set("model", o.model);
      form.set("response_format", "json");
      if (language) form.set("language", language);
      const timeout = AbortSignal.timeout((o.timeoutBaseMs ?? 60_000) + seconds * (o.timeoutPerAudioSecondMs ?? 500));
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: "POST",
          body: form,
          signal: AbortSignal.any([signal, timeout]),
          headers: o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {},
        });
      } catch (err) {
        if (signal.aborted) throw new SttError("transcription stopped (shutting down)", true);
        lastError = new SttError(
          timeout.aborted
            ? "the transcription API did not answer in time"
            : `the transcription API cannot be reached (${(err as Error).cause ? ((err as Error).cause as Error).message : (err as Error).message})`,
          true,
        );
        await pause(500 * attempt, signal);
        continue;
      }
      const body = await res.text().catch(() => "");
      if (res.ok) {
        let parsed: { text?: unknown; language?: unknown };
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          throw new SttError("the transcription API answered something that is not JSON", true);
        }
        if (typeof parsed.text !== "string") throw new SttError("the transcription API's answer has no text", false);
        return { text: parsed.text, language: typeof parsed.language === "string" ? parsed.language : language };
      }
      const detail = apiMessage(body);
      if (res.status === 429 || res.status >= 500) {
        const retryAfter = Number(res.headers.get("retry-after"));
        const waitMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 500 * 2 ** attempt;
        lastError = new SttError(`the transcription API answered ${res.status}${detail}`, true, waitMs);
        if (waitMs > 30_000) break; // a long wait is the job's backoff, not this request's
        await pause(waitMs, signal);
        continue;
      }
      // 401/403 (key), 404 (wrong URL or model): the set-up, not the note — tried again after a long
      // wait, so notes survive until the operator fixes it. 400 and others: this note is refused.
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        throw new SttError(`the transcription API refused the request (check STT_URL, STT_API_KEY, STT_MODEL): ${res.status}${detail}`, true, SETUP_RETRY_MS);
      }
      throw new SttError(`the transcription API refused the note: ${res.status}${detail}`, false);
    }
    throw lastError ?? new SttError("transcription failed", true);
  }

  return {
    name: "openai",
    model: o.model,
    async transcribe(input: TranscribeInput): Promise<Transcript> {
      const { audio } = input;
      if (audio.seconds <= CHUNK_SECONDS) {
        return post(new Blob([new Uint8Array(input.ogg)], { type: "audio/ogg" }), "voice.ogg", audio.seconds, input.language, input.signal);
      }
      const per = CHUNK_SECONDS * WHISPER_RATE;
      const parts: string[] = [];
      let language = input.language;
      for (let start = 0; start < audio.pcm.length; start += per) {
        const chunk = audio.pcm.subarray(start, Math.min(audio.pcm.length, start + per));
        const t = await post(
          new Blob([new Uint8Array(wavFromPcm(chunk))], { type: "audio/wav" }),
          "voice.wav",
          chunk.length / WHISPER_RATE,
          language,
          input.signal,
        );
        parts.push(t.text.trim());
        language ??= t.language;
        input.onProgress?.(Math.min(1, (start + per) / audio.pcm.length));
      }
      return { text: parts.filter(Boolean).join(" "), language };
    },
  };
}

/** The API's own error message (OpenAI: {"error": {"message"}}), short, never echoing headers. */
function apiMessage(body: string): string {
  try {
    const m = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === "string") return `: ${m.slice(0, 200)}`;
  } catch {
    /* not JSON */
  }
  return "";
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      resolve();
    }
  });
}
