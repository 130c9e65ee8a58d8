// What to do after a failed sendMessage, and how fast a chat may be written to. Pure functions.
import { GrammyError, HttpError } from "grammy";
import { scrub } from "../log.ts";

export type SendFailure =
  | { type: "retry"; delayMs: number; reason: string }
  | { type: "rate_limited"; delayMs: number; reason: string }
  | { type: "permanent"; reason: string };

/** Telegram's limits: ~1 message/s to one chat, 20/min to a group, 30/s per bot. */
// Per bot: a send holds its slot until one second after its answer (bot-limiter.ts), so Telegram
// never sees more than 30 arrivals in a second even though we use all 30.
export const PACE = { privateChatMs: 1000, groupChatMs: 3000, perBotPerSecond: 30 } as const;

/** Retryable failures are given up after this long (the message is then marked failed). */
export const GIVE_UP_AFTER_MS = 24 * 3600_000;

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
    const inner = err.error as { code?: string; message?: string } | undefined;
    return { type: "retry", delayMs: backoffMs(attempt), reason: scrub(`network: ${inner?.code ?? inner?.message ?? err.message}`) };
  }
  return { type: "retry", delayMs: backoffMs(attempt), reason: scrub(`error: ${(err as Error)?.message ?? String(err)}`) };
}
