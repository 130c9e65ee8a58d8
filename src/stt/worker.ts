// The transcription worker (part of `serve`'s workers and of `worker`, when STT_PROVIDER is not
// none). It takes pending voice tasks with a lease, as the outbox takes messages: getFile →
// download (≤ 20 MB) → OGG/Opus to 16 kHz mono → the provider → one transaction that titles the
// task, stores the transcript, marks the job done, appends task.updated and queues the chat's
// edit. Nothing of this runs in a webhook request. A crash leaves the job leased: once the lease
// runs out another worker takes it again; the transaction that records a transcript checks the
// lease is still its own, so a transcript reaches the chat once.
import type { Api } from "grammy";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import type { Logger } from "../log.ts";
import { createBotApi } from "../telegram/api.ts";
import { chooseLang } from "../telegram/texts.ts";
import { TEXTS } from "../telegram/texts.ts";
import { titleFromText } from "../tasks/title.ts";
import { scrub } from "../log.ts";
import { decodeOggOpusOffThread, AudioDecodeError } from "./audio.ts";
import { downloadTelegramFile } from "./telegram-file.ts";
import { SttError, type SttProvider } from "./providers/types.ts";
import { claimSttJobs, readTaskForStt, recordTranscript, recordSttFailure, releaseSttJob, renewSttLease, type ClaimedJob } from "./jobs.ts";
import { transcriptNotes } from "./chat-text.ts";

export interface SttWorkerOptions {
  db: Db;
  seam: DialectSeam;
  fernet: MultiFernet;
  apiRoot: string;
  logger: Logger;
  provider: SttProvider;
  concurrency?: number;
  maxAttempts?: number;
  /** A job's lease; renewed every third of it while the job runs, so long notes are never retaken. */
  leaseMs?: number;
  pollMs?: number;
  retryBaseMs?: number;
  now?: () => number;
}

/** Backoff between attempts: base (30 s), 2×, 4× … at most 1 h (or the provider's Retry-After when longer). */
export function sttBackoffMs(attempts: number, retryAfterMs?: number, baseMs = 30_000): number {
  return Math.max(retryAfterMs ?? 0, Math.min(3_600_000, baseMs * 2 ** Math.max(0, attempts - 1)));
}

export class SttWorker {
  readonly stats = { done: 0, failed: 0, retried: 0 };
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly inflight = new Map<number, { job: ClaimedJob; abort: AbortController; done: Promise<void> }>();
  private wakeUp: (() => void) | null = null;
  private readonly now: () => number;
  private readonly leaseMs: number;

  constructor(private readonly o: SttWorkerOptions) {
    this.now = o.now ?? Date.now;
    this.leaseMs = o.leaseMs ?? 60_000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.logger.info({ provider: this.o.provider.name, model: this.o.provider.model }, "stt: transcription worker started");
    this.loopDone = this.loop();
  }

  wake(): void {
    this.wakeUp?.();
  }

  /** Stops taking jobs; jobs in flight are stopped and given back (pending again at once). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    for (const f of this.inflight.values()) f.abort.abort();
    await Promise.allSettled([...this.inflight.values()].map((f) => f.done));
    await this.o.provider.close?.();
  }

  private async loop(): Promise<void> {
    const concurrency = this.o.concurrency ?? 1;
    while (this.running) {
      const free = concurrency - this.inflight.size;
      let claimed: ClaimedJob[] = [];
      if (free > 0) {
        try {
          claimed = await claimSttJobs(this.o.db, this.o.seam, { now: this.now(), limit: free, leaseMs: this.leaseMs });
        } catch (err) {
          this.o.logger.warn({ err }, "stt: could not claim jobs (database unavailable?), retrying");
        }
      }
      for (const job of claimed) this.launch(job);
      if (this.running) await this.sleep(claimed.length > 0 && claimed.length === free ? 0 : (this.o.pollMs ?? 1000));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private launch(job: ClaimedJob): void {
    const abort = new AbortController();
    const renew = setInterval(
      () => {
        renewSttLease(this.o.db, job, this.now() + this.leaseMs).then(
          (ours) => {
            if (!ours) abort.abort(); // another worker has it now: stop, record nothing
          },
          () => {
            /* database busy: the next renewal tries again */
          },
        );
      },
      Math.max(1000, Math.floor(this.leaseMs / 3)),
    );
    const done = this.run(job, abort.signal)
      .catch((err) => this.o.logger.error({ err, task_id: job.taskId }, "stt: unexpected error"))
      .finally(() => {
        clearInterval(renew);
        this.inflight.delete(job.taskId);
        this.wake();
      });
    this.inflight.set(job.taskId, { job, abort, done });
  }

  private async run(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const { db, seam, logger } = this.o;
    const log = logger.child({ task_id: job.taskId, attempt: job.attempts });
    const task = await readTaskForStt(db, seam, job.taskId);
    if (!task) {
      await recordSttFailure(db, seam, job, this.now(), "the task no longer exists", null);
      return;
    }
    const meta = task.meta;
    const bot = await this.botFor(task.plugin_id);
    const lang = chooseLang(bot?.idioma, typeof meta.language_code === "string" ? meta.language_code : undefined);
    const failedNote = () => ({ kind: "transcript_failed", text: "", replyTo: task.message_id });
    try {
      // Taken again and again without ever finishing (the process died each time, e.g. killed
      // for memory on this note): stop here rather than take the server down on every restart.
      if (job.attempts > (this.o.maxAttempts ?? 5)) {
        throw new SttError(`the transcription stopped ${job.attempts - 1} times without finishing (the process ended each time)`, false);
      }
      if (!bot) throw new SttError("the bot's plugin no longer exists", false);
      if (bot.api === null) throw new SttError("the bot token cannot be decrypted with FERNET_KEYS", true, 10 * 60_000);
      if (typeof meta.file_id !== "string") throw new SttError("the task has no voice file_id", false);
      const started = this.now();
      log.info({ provider: this.o.provider.name, duration_s: meta.duration }, "stt: transcribing");
      const ogg = await downloadTelegramFile(
        bot.api,
        bot.token,
        this.o.apiRoot,
        meta.file_id,
        typeof meta.file_size === "number" ? meta.file_size : null,
        signal,
      );
      const audio = await decodeOggOpusOffThread(ogg);
      const language = whisperLanguage(meta.language_code);
      const t = await this.o.provider.transcribe({
        ogg,
        audio,
        language,
        signal,
        onProgress: (f) => log.info({ progress: Math.round(f * 100) }, "stt: long note in progress"),
      });
      const processing = (this.now() - started) / 1000;
      const confirmation = await db
        .selectFrom("outgoing_messages")
        .select("text")
        .where("task_id", "=", task.id)
        .where("kind", "=", "confirmation")
        .executeTakeFirst();
      const text = t.text.trim();
      const written = await recordTranscript(db, seam, job, this.now(), (fresh) => ({
        titulo: text ? titleFromText(text) : fresh.titulo,
        meta: {
          ...fresh.meta,
          pendiente_stt: false,
          transcripcion: text,
          stt: {
            estado: "done",
            proveedor: this.o.provider.name,
            modelo: this.o.provider.model,
            idioma: t.language ?? language ?? null,
            segundos_audio: Math.round(audio.seconds * 10) / 10,
            segundos_proceso: Math.round(processing * 10) / 10,
            intentos: job.attempts,
          },
        },
        notes: transcriptNotes(confirmation?.text ?? null, text, lang, fresh.message_id),
      }));
      if (written) {
        this.stats.done++;
        log.info({ audio_s: Math.round(audio.seconds), processing_s: Math.round(processing * 10) / 10, chars: text.length }, "stt: transcribed");
      } else log.warn("stt: lease lost while transcribing; another worker owns the job");
    } catch (err) {
      if (signal.aborted && !this.running) {
        await releaseSttJob(db, job, this.now()).catch(() => {});
        return;
      }
      const e =
        err instanceof SttError
          ? err
          : err instanceof AudioDecodeError
            ? new SttError(err.message, false, undefined, "not_audio")
            : new SttError(`unexpected: ${(err as Error).message ?? String(err)}`, true);
      const final = !e.retryable || job.attempts >= (this.o.maxAttempts ?? 5);
      const reason = scrubReason(e.message);
      const retryAt = final ? null : this.now() + sttBackoffMs(job.attempts, e.retryAfterMs, this.o.retryBaseMs);
      if (final) this.stats.failed++;
      else this.stats.retried++;
      log.warn({ reason, retry_at: retryAt }, final ? "stt: transcription failed for good" : "stt: transcription will be retried");
      // The chat hears the reason only when it is about the note (too big, not audio); provider
      // and set-up details (URLs, masked keys, model paths) stay with the operator.
      await recordSttFailure(
        db,
        seam,
        job,
        this.now(),
        reason,
        retryAt,
        final
          ? (tk) => ({
              ...failedNote(),
              text: TEXTS.transcriptFailed[lang](
                tk.codigo,
                e.noteFault === "too_big" ? TEXTS.tooBig[lang] : e.noteFault === "not_audio" ? TEXTS.notAudio[lang] : TEXTS.transcriptFailedGeneric[lang],
              ),
            })
          : undefined,
      );
    }
  }

  private async botFor(pluginId: number): Promise<{ api: Api | null; token: string; idioma: unknown } | null> {
    const row = await this.o.db.selectFrom("plugin_configs").select(["token_cifrado", "metadatos"]).where("id", "=", pluginId).executeTakeFirst();
    if (!row) return null;
    const idioma = (this.o.seam.json.parse(row.metadatos) as { idioma?: unknown } | null)?.idioma;
    try {
      const token = this.o.fernet.decrypt(row.token_cifrado);
      return { api: createBotApi(token, this.o.apiRoot, 60), token, idioma };
    } catch {
      return { api: null, token: "", idioma };
    }
  }
}

/** What is stored and logged of a failure: no bot token, no credentials in a URL, bounded. */
export function scrubReason(message: string): string {
  return scrub(message)
    .replace(/\/\/[^/\s@]+@/g, "//<credentials>@")
    .replace(/sk-[A-Za-z0-9*_-]{4,}/g, "sk-<redacted>")
    .slice(0, 500);
}

/** Telegram's language_code ("es", "en-US", "pt-br") → whisper's two-letter code; none → auto-detect. */
export function whisperLanguage(code: unknown): string | undefined {
  if (typeof code !== "string") return undefined;
  const m = /^([a-z]{2})\b/i.exec(code);
  return m ? m[1]!.toLowerCase() : undefined;
}
