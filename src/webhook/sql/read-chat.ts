// A chat's brute-force counters and warning time (only chats that are not the linked one have any).
import { defineOp } from "../../db/prepared-op.ts";
import type { ChatStateRow } from "../../db/schema.ts";

export const readChat = defineOp<{ pluginId: number; chatId: number }, ChatStateRow | undefined>({
  name: "read_chat",
  mode: "get",
  build: (db, a) => db.selectFrom("chat_state").selectAll().where("plugin_id", "=", a.pluginId).where("chat_id", "=", a.chatId),
  params: (a) => [a.pluginId, a.chatId],
});
