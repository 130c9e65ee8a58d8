// When a chat, or a whole bot, may not try another /start code, and until when. Pure functions
// of the stored counters, shared by the decision (decide.ts) and by what the owner is shown
// (`plugin show`), so the bot and the CLI can never disagree about a lock.
//
// Why a bot's lock expires instead of lasting until `plugin unlink`: anyone who knows a bot's
// username could otherwise lock a fresh bot for good, before its owner links it. Codes are
// JOE- + 4 of 36 characters: 36^4 = 1,679,616. Each lock follows LIMITS.botFailures (20) wrong
// codes and lasts twice the one before — 1 h, 2 h, 4 h, 8 h, 16 h, then 24 h each — so a guesser
// gets ~100 codes checked on the first day and 20 a day after that: ~7,400 in a year, a 0.44 %
// chance of hitting the code. Meanwhile the owner is never locked out for more than a day, sees
// the lock and its end in `plugin show`, and `plugin unlink` (a new code) lifts it at once.
import type { ChatState } from "./decide.ts";
import type { PluginState } from "../plugins/state.ts";

export const LOCKOUT = {
  /** Wrong /start codes allowed per chat per window, then that chat waits for the window to end. */
  chatFailures: 5,
  chatWindowMs: 15 * 60_000,
  /** Wrong /start codes per bot between two locks of its linking. */
  botFailures: 20,
  /** The first lock of a bot's linking; each next one lasts twice as long, up to botLockMaxMs. */
  botLockBaseMs: 60 * 60_000,
  botLockMaxMs: 24 * 60 * 60_000,
} as const;

/** How long the n-th lock of a bot (n ≥ 1) lasts. */
export function botLockDurationMs(n: number): number {
  const doubled = LOCKOUT.botLockBaseMs * 2 ** Math.min(Math.max(n - 1, 0), 30);
  return Math.min(doubled, LOCKOUT.botLockMaxMs);
}

/** The end of the bot's latest lock (in the past once it has run out), or null if never locked. */
export function botLockEnd(p: Pick<PluginState, "intentosFallidos" | "bloqueadoEn">): number | null {
  const n = Math.floor(p.intentosFallidos / LOCKOUT.botFailures);
  if (p.bloqueadoEn === null || n < 1) return null;
  return p.bloqueadoEn + botLockDurationMs(n);
}

/** Until when the bot's linking is locked at `now`, or null if it is not. */
export function botLockedUntil(p: Pick<PluginState, "intentosFallidos" | "bloqueadoEn">, now: number): number | null {
  const end = botLockEnd(p);
  return end !== null && now < end ? end : null;
}

/** Does this wrong code (the bot's `intentosFallidos`-th) start a new lock? */
export function wrongCodeLocksBot(intentosFallidos: number): boolean {
  return intentosFallidos > 0 && intentosFallidos % LOCKOUT.botFailures === 0;
}

/** Wrong codes from this chat that still count at `now` (its window is open). */
export function chatFailuresInWindow(chat: ChatState, now: number): number {
  const open = chat.failedWindowStartedAt !== null && now - chat.failedWindowStartedAt < LOCKOUT.chatWindowMs;
  return open ? chat.failedStarts : 0;
}

/** Until when this chat may not try a code at `now`, or null if it may. */
export function chatLockedUntil(chat: ChatState, now: number): number | null {
  if (chatFailuresInWindow(chat, now) < LOCKOUT.chatFailures) return null;
  return chat.failedWindowStartedAt! + LOCKOUT.chatWindowMs;
}
