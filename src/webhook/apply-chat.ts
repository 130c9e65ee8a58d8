// Carrying out a chat intent (/tareas, /deshacer, an edit) inside the webhook's transaction:
// read the tasks it is about, ask decide-chat.ts (pure) what to do, write the change with its
// event, and hand back the reply for apply.ts to queue in the outbox like every other reply.
import type { BatchContext } from "./apply.ts";
import type { PluginState, Reply } from "./decide.ts";
import { decideEdit, decideUndo, taskListText, TASK_LIST_SIZE, type ChatIntent, type TaskSnapshot } from "./decide-chat.ts";
import { appendEvent } from "../events/append.ts";
import type { TaskRow } from "../db/schema.ts";

export interface ChatIntentResult {
  outcome: string;
  reply?: Reply;
}

const TASK_COLUMNS = ["id", "codigo", "estado", "titulo", "tipo", "metadatos_extra"] as const;

export async function applyChatIntent(ctx: BatchContext, plugin: PluginState, chatId: number, intent: ChatIntent): Promise<ChatIntentResult> {
  switch (intent.kind) {
    case "list_tasks": {
      // Newest first by message id: the chat's order, read straight off the (plugin, chat, message) key.
      const rows = await ctx.trx.selectFrom("tasks").select(["codigo", "estado", "titulo"])
        .where("plugin_id", "=", plugin.id).where("chat_id", "=", chatId)
        .orderBy("message_id", "desc").limit(TASK_LIST_SIZE).execute();
      return { outcome: "command:list_tasks", reply: { kind: "task_list", text: taskListText(rows, intent.lang), replyTo: intent.replyTo } };
    }
    case "undo": {
      const task = intent.target.kind === "reply"
        ? await taskOfRepliedMessage(ctx, plugin.id, chatId, intent.target.messageId)
        : await lockedTask(ctx, plugin.id, chatId, null);
      const d = decideUndo(task, intent.target.kind, intent.lang);
      let outcome: string = d.outcome;
      let text = d.text;
      if (d.cancel && task) {
        const r = await ctx.trx.updateTable("tasks").set({ estado: "cancelled" })
          .where("id", "=", task.id).where("estado", "=", "queued").executeTakeFirst();
        if (Number(r.numUpdatedRows) === 1) {
          await appendEvent(ctx.trx, { type: "task.state_changed", usuario_id: plugin.usuarioId, plugin_id: plugin.id, task_id: task.id, at: ctx.now });
        } else {
          // The row is locked (PostgreSQL) or the writer is alone (SQLite), so this is only a guard:
          // answer on what the task is now.
          ({ outcome, text } = decideUndo(await lockedTaskById(ctx, task.id), intent.target.kind, intent.lang));
        }
      }
      return { outcome, reply: { kind: "undo", text, replyTo: intent.replyTo } };
    }
    case "edit": {
      const task = await lockedTask(ctx, plugin.id, chatId, intent.messageId);
      const d = decideEdit(task, intent);
      if (!task || (d.outcome !== "edit:applied" && d.outcome !== "edit:noted")) return { outcome: d.outcome };
      const set = d.outcome === "edit:applied"
        ? { titulo: d.titulo, metadatos_extra: JSON.stringify(d.metadatos_extra) }
        : { metadatos_extra: JSON.stringify(d.metadatos_extra) };
      await ctx.trx.updateTable("tasks").set(set).where("id", "=", task.id).execute();
      await appendEvent(ctx.trx, { type: "task.updated", usuario_id: plugin.usuarioId, plugin_id: plugin.id, task_id: task.id, at: ctx.now });
      return { outcome: d.outcome, reply: { kind: d.outcome === "edit:applied" ? "edit_applied" : "edit_noted", text: d.text, replyTo: intent.messageId } };
    }
  }
}

/**
 * The task a reply points to: the bot's confirmation that was replied to (its Telegram message id
 * is recorded when it is sent), else the person's own message that made the task.
 */
async function taskOfRepliedMessage(ctx: BatchContext, pluginId: number, chatId: number, messageId: number): Promise<TaskSnapshot | null> {
  const confirmation = await ctx.trx.selectFrom("outgoing_messages").select("task_id")
    .where("plugin_id", "=", pluginId).where("chat_id", "=", chatId).where("telegram_message_id", "=", messageId)
    .where("task_id", "is not", null).executeTakeFirst();
  if (confirmation?.task_id != null) {
    const task = await lockedTaskById(ctx, Number(confirmation.task_id));
    if (task) return task;
  }
  return lockedTask(ctx, pluginId, chatId, messageId);
}

/** The chat's task for `messageId` (null: its latest), locked for this transaction on PostgreSQL. */
async function lockedTask(ctx: BatchContext, pluginId: number, chatId: number, messageId: number | null): Promise<TaskSnapshot | null> {
  const row = await ctx.trx.selectFrom("tasks").select(TASK_COLUMNS)
    .where("plugin_id", "=", pluginId).where("chat_id", "=", chatId)
    .$if(messageId !== null, (q) => q.where("message_id", "=", messageId!))
    .orderBy("message_id", "desc").limit(1)
    .$if(ctx.seam.capabilities.rowLocks, (q) => q.forUpdate())
    .executeTakeFirst();
  return row ? snapshot(ctx, row) : null;
}

async function lockedTaskById(ctx: BatchContext, id: number): Promise<TaskSnapshot | null> {
  const row = await ctx.trx.selectFrom("tasks").select(TASK_COLUMNS).where("id", "=", id)
    .$if(ctx.seam.capabilities.rowLocks, (q) => q.forUpdate())
    .executeTakeFirst();
  return row ? snapshot(ctx, row) : null;
}

function snapshot(ctx: BatchContext, r: Pick<TaskRow, (typeof TASK_COLUMNS)[number]>): TaskSnapshot {
  const meta = ctx.seam.json.parse(r.metadatos_extra);
  return {
    id: Number(r.id), codigo: r.codigo, estado: r.estado, titulo: r.titulo, tipo: r.tipo,
    metadatos_extra: meta && typeof meta === "object" ? (meta as Record<string, unknown>) : {},
  };
}
