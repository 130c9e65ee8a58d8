// What to do after a failed sendMessage, and how fast a chat may be written to. Pure functions.
import { GrammyError, HttpError } from "grammy";
import { scrub } from "../log.ts";
import { SendAttemptError } from "./send-fetch.ts";

export type SendFailure =
  | { type: "retry"; delayMs: number; reason: string }
  | { type: "rate_limited"; delayMs: number; reason: string }
  | { type: "permanent"; reason: string }
  /** The request left but no answer came: Telegram may have delivered it. Never sent again. */
  | { type: "unknown"; reason: string };

/** Telegram's limits: ~1 message/s to one chat, 20/min to a group, 30/s per bot. */
// Per bot: a send holds its slot until one second after its answer (bot-limiter.ts), so Telegram
// never sees more than 30 arrivals in a second even though we use all 30.
export const PACE = { privateChatMs: 1000, groupChatMs: 3000, perBotPerSecond: 30 } as const;

/** Retryable failures are given up after this long (the message is then marked failed). */
export const GIVE_UP_AFTER_MS = 24 * 3600_000;

/**
 * How long a sent request waits for Telegram's answer. The Bot API answers within seconds, and
 * well within 60 s even when slow; waiting that long turns a slow answer into a delivered message
 * instead of an unknown outcome. A timeout on a request that had been sent is not a failure.
 */
export const SEND_TIMEOUT_MS = 60_000;

export function chatPaceMs(chatId: number): number {
  return chatId < 0 ? PACE.groupChatMs : PACE.privateChatMs;
}

/** Exponential backoff with full jitter between half and all of the step: 0.5 s, 1 s, 2 s … capped at 5 min. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(500 * 2 ** Math.max(0, attempt - 1), 5 * 60_000);
  return Math.round(step / 2 + random() * (step / 2));
}

export function classifySendError(err: unknown, attempt: number): SendFailure {
  if (err instanceof GrammyError) {
    const reason = scrub(`${err.error_code} ${err.description}`);
    if (err.error_code === 429) {
      const s = Number(err.parameters?.retry_after ?? 1);
      return { type: "rate_limited", delayMs: Math.max(1, s) * 1000, reason };
    }
    if (err.error_code >= 500) return { type: "retry", delayMs: backoffMs(attempt), reason };
    // 400 chat not found, 403 blocked by the user, 401 token revoked…: retrying cannot help.
    return { type: "permanent", reason };
  }
  if (err instanceof HttpError) {
    const inner = err.error;
    // Only a request that never left (refused, DNS, TLS, reset while connecting) surely did not
    // reach Telegram. Anything else — no answer in time, a reset while waiting, an answer that is
    // not the Bot API's JSON — may have been delivered: resending could duplicate it.
    if (inner instanceof SendAttemptError && !inner.requestSent) {
      return { type: "retry", delayMs: backoffMs(attempt), reason: scrub(`network: ${inner.code} (not sent)`) };
    }
    const what = inner instanceof SendAttemptError ? `${inner.code}: ${inner.message}` : ((inner as Error | undefined)?.message ?? err.message);
    return { type: "unknown", reason: scrub(`outcome unknown, not resent: ${what} after the request was sent`) };
  }
  return { type: "retry", delayMs: backoffMs(attempt), reason: scrub(`error: ${(err as Error)?.message ?? String(err)}`) };
}
