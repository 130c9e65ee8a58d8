// The tasks a chat command or an edit is about, read inside the webhook's transaction. Those that
// may be changed are locked (PostgreSQL `for update`) until the change is written.
import type { Kysely, RawBuilder } from "kysely";
import { defineOp } from "../../db/prepared-op.ts";
import type { Database, TaskRow } from "../../db/schema.ts";

export const TASK_SNAPSHOT_COLUMNS = ["id", "codigo", "estado", "titulo", "tipo", "metadatos_extra"] as const;
export type TaskSnapshotRow = Pick<TaskRow, (typeof TASK_SNAPSHOT_COLUMNS)[number]>;

/** The chat's newest tasks, newest first by message id (the chat's order, off the (plugin, chat, message) key). */
export const recentTasks = defineOp<{ pluginId: number; chatId: number; limit: number }, Array<Pick<TaskRow, "codigo" | "estado" | "titulo">>>({
  name: "recent_tasks",
  mode: "all",
  build: (db, a) =>
    db
      .selectFrom("tasks")
      .select(["codigo", "estado", "titulo"])
      .where("plugin_id", "=", a.pluginId)
      .where("chat_id", "=", a.chatId)
      .orderBy("message_id", "desc")
      .limit(a.limit),
  params: (a) => [a.pluginId, a.chatId, a.limit],
});

const locked = <Q extends { modifyEnd(c: RawBuilder<unknown>): Q }>(q: Q, lock: RawBuilder<unknown> | null): Q => (lock ? q.modifyEnd(lock) : q);

/** The task a message made. */
export const taskOfMessage = defineOp<{ pluginId: number; chatId: number; messageId: number }, TaskSnapshotRow | undefined>({
  name: "task_of_message",
  mode: "get",
  lock: "update",
  build: (db: Kysely<Database>, a, lock) =>
    locked(
      db
        .selectFrom("tasks")
        .select(TASK_SNAPSHOT_COLUMNS)
        .where("plugin_id", "=", a.pluginId)
        .where("chat_id", "=", a.chatId)
        .where("message_id", "=", a.messageId),
      lock,
    ),
  params: (a) => [a.pluginId, a.chatId, a.messageId],
});

/** The chat's latest task. */
export const lastTask = defineOp<{ pluginId: number; chatId: number }, TaskSnapshotRow | undefined>({
  name: "last_task",
  mode: "get",
  lock: "update",
  build: (db: Kysely<Database>, a, lock) =>
    locked(
      db
        .selectFrom("tasks")
        .select(TASK_SNAPSHOT_COLUMNS)
        .where("plugin_id", "=", a.pluginId)
        .where("chat_id", "=", a.chatId)
        .orderBy("message_id", "desc")
        .limit(1),
      lock,
    ),
  params: (a) => [a.pluginId, a.chatId, 1],
});

export const taskById = defineOp<{ id: number }, TaskSnapshotRow | undefined>({
  name: "task_by_id",
  mode: "get",
  lock: "update",
  build: (db: Kysely<Database>, a, lock) => locked(db.selectFrom("tasks").select(TASK_SNAPSHOT_COLUMNS).where("id", "=", a.id), lock),
  params: (a) => [a.id],
});

/** The task of the bot's confirmation the person replied to (its Telegram id is kept when it is sent). */
export const taskOfConfirmation = defineOp<{ pluginId: number; chatId: number; telegramMessageId: number }, { task_id: number | string | null } | undefined>({
  name: "task_of_confirmation",
  mode: "get",
  build: (db, a) =>
    db
      .selectFrom("outgoing_messages")
      .select("task_id")
      .where("plugin_id", "=", a.pluginId)
      .where("chat_id", "=", a.chatId)
      .where("telegram_message_id", "=", a.telegramMessageId)
      .where("task_id", "is not", null),
  params: (a) => [a.pluginId, a.chatId, a.telegramMessageId],
});
