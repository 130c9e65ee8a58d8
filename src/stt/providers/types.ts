// One interface for every speech-to-text provider (STT_PROVIDER): the worker hands it a voice
// note (the original OGG/Opus bytes and the decoded 16 kHz mono PCM) and gets text back.
import type { DecodedAudio } from "../audio.ts";

export interface TranscribeInput {
  /** The file as Telegram stored it (OGG/Opus). */
  ogg: Uint8Array;
  /** Decoded 16 kHz mono PCM. */
  audio: DecodedAudio;
  /** ISO 639-1 code from the sender's Telegram language_code, or undefined for auto-detection. */
  language?: string;
  signal: AbortSignal;
  /** Progress of a long note, 0..1 (logged by the worker). */
  onProgress?: (fraction: number) => void;
}

export interface Transcript {
  text: string;
  /** The language the provider used or detected, when it says. */
  language?: string;
}

export interface SttProvider {
  readonly name: "local" | "openai";
  readonly model: string;
  transcribe(input: TranscribeInput): Promise<Transcript>;
  close?(): Promise<void>;
}

/** A provider failure: `retryable` ones are tried again later with backoff; the others end the job. */
export class SttError extends Error {
  /** `noteFault`: the note itself is the problem, and the chat is told which; otherwise it hears a generic reason. */
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    readonly noteFault?: "too_big" | "not_audio",
  ) {
    super(message);
  }
}

/** A provider that is misconfigured or down: not the note's fault, so tried again after a long wait. */
export const SETUP_RETRY_MS = 10 * 60_000;
