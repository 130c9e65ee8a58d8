// A chat's counters after a warning or a /start guess.
import { defineOp } from "../../db/prepared-op.ts";

type Args = { pluginId: number; chatId: number; lastWarnedAt: number | null; failedStarts: number; failedWindowStartedAt: number | null };
export const upsertChat = defineOp<Args, number>({
  name: "upsert_chat",
  mode: "run",
  build: (db, a) => {
    const values = { last_warned_at: a.lastWarnedAt, failed_starts: a.failedStarts, failed_window_started_at: a.failedWindowStartedAt };
    return db
      .insertInto("chat_state")
      .values({ plugin_id: a.pluginId, chat_id: a.chatId, ...values })
      .onConflict((oc) => oc.columns(["plugin_id", "chat_id"]).doUpdateSet(values));
  },
  params: (a) => [a.pluginId, a.chatId, a.lastWarnedAt, a.failedStarts, a.failedWindowStartedAt, a.lastWarnedAt, a.failedStarts, a.failedWindowStartedAt],
});
