// whisper.cpp on this machine (STT_PROVIDER=local, model file WHISPER_MODEL). The work runs in a
// child process (whisper-child.ts) at a lower priority: the webhook's event loop never waits for
// it, and a native crash costs a restart of the child, not the server. One child, loaded once,
// transcribes one note at a time with all cores but one (a second note waits: two at once would
// only share the same cores). A note is given time in proportion to its length.
import { fork, type ChildProcess } from "node:child_process";
import os from "node:os";
import fs from "node:fs";
import type { Logger } from "../../log.ts";
import { SttError, SETUP_RETRY_MS, type SttProvider, type TranscribeInput, type Transcript } from "./types.ts";

export interface LocalWhisperOptions {
  modelPath: string;
  threads?: number;
  logger: Logger;
  /** Time allowed: base + per second of audio (random-weight test models and slow machines included). */
  timeoutBaseMs?: number;
  timeoutPerAudioSecondMs?: number;
  /** Extra whisper.cpp parameters (the benchmark turns off temperature fallback: see bench/stt.ts). */
  params?: Record<string, unknown>;
}

type ChildReply =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "progress"; id: number; fraction: number }
  | { type: "done"; id: number; text: string; language?: string }
  | { type: "error"; id: number; message: string };

const CHILD = new URL(import.meta.url.endsWith(".ts") ? "../whisper-child.ts" : "../whisper-child.js", import.meta.url);

export function localWhisperProvider(o: LocalWhisperOptions): SttProvider {
  if (!fs.existsSync(o.modelPath))
    throw new Error(`WHISPER_MODEL: no model file at ${o.modelPath} (download one with \`npx joe-telegram stt fetch-model base\`)`);
  const threads = o.threads ?? Math.max(1, os.cpus().length - 1);
  let child: ChildProcess | null = null;
  let ready: Promise<void> | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (t: Transcript) => void; reject: (e: Error) => void; progress?: (f: number) => void }>();

  function start(): Promise<void> {
    if (ready) return ready;
    const c = fork(CHILD, [o.modelPath], {
      serialization: "advanced",
      execArgv: import.meta.url.endsWith(".ts") ? ["--import", "tsx"] : [],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    child = c;
    try {
      os.setPriority(c.pid!, 10);
    } catch {
      /* not allowed here: runs at normal priority */
    }
    let stderr = "";
    c.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    ready = new Promise<void>((resolve, reject) => {
      c.on("message", (m: ChildReply) => {
        if (m.type === "ready") return resolve();
        // The set-up, not the note: tried again after a long wait (the operator may fix the model).
        if (m.type === "fatal") return reject(new SttError(`whisper.cpp could not load the model: ${m.message}`, true, SETUP_RETRY_MS));
        const w = waiting.get(m.id);
        if (!w) return;
        if (m.type === "progress") return w.progress?.(m.fraction);
        waiting.delete(m.id);
        if (m.type === "done") w.resolve({ text: m.text, language: m.language });
        else w.reject(new SttError(`whisper.cpp failed: ${m.message}`, true));
      });
      c.on("exit", (code, signal) => {
        const why = new SttError(`the whisper.cpp process ended (${signal ?? `exit ${code}`})${stderr.includes("error") ? `: ${lastLine(stderr)}` : ""}`, true);
        reject(why);
        for (const w of waiting.values()) w.reject(why);
        waiting.clear();
        if (child === c) {
          child = null;
          ready = null;
        }
      });
      // A send to a child that just died must not become an uncaught error in the server.
      c.on("error", () => {
        if (child === c) {
          child = null;
          ready = null;
        }
      });
    });
    ready.catch(() => {
      /* reported to the transcription that waits on it */
    });
    return ready;
  }

  // One note at a time through the child (it runs them one by one anyway): each note's time limit
  // starts when it is handed over, so a note waiting its turn never times out the one running.
  let turn: Promise<unknown> = Promise.resolve();

  return {
    name: "local",
    model: o.modelPath.split(/[\\/]/).pop() ?? o.modelPath,
    transcribe(input: TranscribeInput): Promise<Transcript> {
      const mine = turn.then(
        () => transcribeNow(input),
        () => transcribeNow(input),
      );
      turn = mine.catch(() => {});
      return mine;
    },
    close,
  };

  async function transcribeNow(input: TranscribeInput): Promise<Transcript> {
    if (input.signal.aborted) throw new SttError("transcription stopped", true);
    await start();
    const c = child!;
    const id = nextId++;
    const seconds = input.audio.seconds;
    const limit = (o.timeoutBaseMs ?? 120_000) + seconds * (o.timeoutPerAudioSecondMs ?? 2_000);
    return new Promise<Transcript>((resolve, reject) => {
      const stop = (why: SttError) => {
        if (!waiting.has(id)) return;
        waiting.delete(id);
        // The native call cannot be interrupted: the child is replaced.
        if (child === c) {
          child = null;
          ready = null;
        }
        c.kill("SIGKILL");
        reject(why);
      };
      const timer = setTimeout(() => stop(new SttError(`whisper.cpp took longer than ${Math.round(limit / 1000)} s`, true)), limit);
      const onAbort = () => stop(new SttError("transcription stopped", true));
      input.signal.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        input.signal.removeEventListener("abort", onAbort);
      };
      waiting.set(id, {
        resolve: (t) => {
          done();
          resolve({ text: t.text, language: t.language ?? input.language });
        },
        reject: (e) => {
          done();
          reject(e);
        },
        progress: input.onProgress,
      });
      c.send({ type: "transcribe", id, pcm: input.audio.pcm, language: input.language, threads, seconds, params: o.params ?? {} }, (err) => {
        if (err) stop(new SttError(`the whisper.cpp process could not be reached: ${err.message}`, true));
      });
    });
  }

  async function close(): Promise<void> {
    const c = child;
    child = null;
    ready = null;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (c.exitCode === null) c.kill("SIGKILL");
    }
  }
}

function lastLine(s: string): string {
  return (
    s
      .trim()
      .split("\n")
      .filter((l) => /error/i.test(l))
      .pop()
      ?.slice(0, 200) ?? ""
  );
}
