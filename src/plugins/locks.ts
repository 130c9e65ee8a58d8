// Which chats may not try a /start code for a plugin right now, and until when: what the owner
// sees in `plugin show` (the bot-wide lock is part of the plugin itself, see store.ts toPublic).
import type { Db } from "../db/dialect.ts";
import { LOCKOUT, chatLockedUntil } from "../webhook/lockout.ts";

export interface ChatLock {
  chat_id: number;
  /** Wrong codes from this chat in its current window. */
  intentos_fallidos: number;
  /** When the chat may try again (ISO). */
  bloqueado_hasta: string;
}

export async function lockedChats(db: Db, pluginId: number, now = Date.now()): Promise<ChatLock[]> {
  const rows = await db
    .selectFrom("chat_state")
    .select(["chat_id", "failed_starts", "failed_window_started_at"])
    .where("plugin_id", "=", pluginId)
    .where("failed_starts", ">=", LOCKOUT.chatFailures)
    .where("failed_window_started_at", ">", now - LOCKOUT.chatWindowMs)
    .orderBy("chat_id")
    .execute();
  return rows.flatMap((r) => {
    const chat = {
      lastWarnedAt: null,
      failedStarts: Number(r.failed_starts),
      failedWindowStartedAt: r.failed_window_started_at === null ? null : Number(r.failed_window_started_at),
    };
    const until = chatLockedUntil(chat, now);
    return until === null ? [] : [{ chat_id: Number(r.chat_id), intentos_fallidos: chat.failedStarts, bloqueado_hasta: new Date(until).toISOString() }];
  });
}
