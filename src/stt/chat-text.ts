// What the chat sees of a transcript: the confirmation edited to carry it, and — when it does not
// fit one Telegram message (4,096 characters) — the rest in as many replies as it takes, split at
// line or word boundaries. Never cut off.
import { TEXTS, type Lang } from "../telegram/texts.ts";
import { TRANSCRIPT_KIND } from "../outbox/deliver.ts";
import type { ChatNote } from "./jobs.ts";

export const TELEGRAM_MAX_TEXT = 4096;

/** Splits `text` into pieces of at most `first` then `rest` UTF-16 units, preferring newlines, then spaces. */
export function splitForTelegram(text: string, first: number, rest = TELEGRAM_MAX_TEXT): string[] {
  const out: string[] = [];
  let s = text;
  let max = first;
  while (s.length > max) {
    let cut = s.lastIndexOf("\n", max);
    if (cut < max / 2) cut = s.lastIndexOf(" ", max);
    if (cut < max / 2) cut = max;
    // Never split a surrogate pair.
    const code = s.charCodeAt(cut - 1);
    if (cut === max && code >= 0xd800 && code <= 0xdbff) cut--;
    out.push(s.slice(0, cut).trimEnd());
    s = s.slice(cut).trimStart();
    max = rest;
  }
  if (s.length > 0 || out.length === 0) out.push(s);
  return out;
}

/**
 * The notes for a finished transcript: the confirmation (its text as sent) plus the transcript,
 * edited in place; what does not fit follows as replies to the voice note.
 */
export function transcriptNotes(confirmationText: string | null, transcript: string, lang: Lang, voiceMessageId: number): ChatNote[] {
  const body = transcript.trim() === "" ? TEXTS.transcriptEmpty[lang] : `${TEXTS.transcriptLabel[lang]} ${transcript.trim()}`;
  const head = confirmationText ? `${confirmationText}\n\n` : "";
  const parts = splitForTelegram(body, TELEGRAM_MAX_TEXT - head.length);
  return parts.map((p, i) =>
    i === 0 ? { kind: TRANSCRIPT_KIND, text: head + p, replyTo: voiceMessageId } : { kind: "transcript_more", text: p, replyTo: voiceMessageId },
  );
}
