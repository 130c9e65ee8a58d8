// The common case, written for a whole batch at once: messages from a plugin's linked chat (and
// updates that are not messages). Their decisions change no plugin or chat state, so a batch of
// them is written in three steps — all marks, then all tasks, then all outgoing messages — with
// statements compiled once (db/insert-statement.ts; on PostgreSQL one multi-row statement per
// step, on SQLite a prepared statement per row). Same rules as apply.ts: the mark decides duplicates, the task's
// (plugin, chat, message) key decides duplicate messages, and only new tasks are confirmed.
import type { ParsedUpdate } from "../telegram/update.ts";
import { decide, EMPTY_CHAT, type Decision, type PluginState } from "./decide.ts";
import { takeOverMark, taskRow, outgoingRow, type ApplyResult, type BatchContext } from "./apply.ts";
import { InsertStatement } from "../db/insert-statement.ts";
import { needsTransaction } from "./decide-chat.ts";

type MarkRow = { plugin_id: number; update_id: number; chat_id: number | null; message_id: number | null; outcome: string; received_at: number };
const INSERT_MARKS = new InsertStatement((trx, rows: MarkRow[]) => trx.insertInto("processed_updates").values(rows)
  .onConflict((oc) => oc.columns(["plugin_id", "update_id"]).doNothing())
  .returning(["plugin_id", "update_id"]));
const INSERT_TASKS = new InsertStatement((trx, rows: Array<ReturnType<typeof taskRow>>) => trx.insertInto("tasks").values(rows)
  .onConflict((oc) => oc.columns(["plugin_id", "chat_id", "message_id"]).doNothing())
  .returning(["id"]));
type EventRow = { type: string; usuario_id: number; plugin_id: number; task_id: number; at: number };
/** The `task.created` events of the new tasks (events/append.ts), in the same transaction. */
const INSERT_EVENTS = new InsertStatement((trx, rows: EventRow[]) => trx.insertInto("events").values(rows));
const INSERT_OUTGOING = new InsertStatement((trx, rows: Array<ReturnType<typeof outgoingRow>>) => trx.insertInto("outgoing_messages").values(rows));

export interface BulkJob {
  /** Position in the batch (results are returned in the batch's order). */
  index: number;
  pluginId: number;
  update: ParsedUpdate;
}

/**
 * True when the update's decision cannot change the plugin's or a chat's state, and is at most a
 * plain text/voice task (chat commands, edits, photos and documents go to apply.ts).
 */
export function isBulkable(plugin: PluginState | null | undefined, update: ParsedUpdate): boolean {
  if (!plugin) return false;
  if (!update.message) return true; // not a message: ignored, only marked
  return plugin.verificado && update.message.chatId === plugin.chatIdVerificado && !needsTransaction(update.message);
}

export async function applyBulk(ctx: BatchContext, jobs: BulkJob[], results: ApplyResult[]): Promise<void> {
  const { trx, now } = ctx;
  const items: Array<BulkJob & { plugin: PluginState; d: Decision }> = [];
  const seenUpdates = new Set<string>();
  for (const job of jobs) {
    // The same update twice in one batch (two concurrent deliveries): the first one counts.
    const key = `${job.pluginId}:${job.update.updateId}`;
    if (seenUpdates.has(key)) {
      results[job.index] = { outcome: "duplicate", queuedMessage: false };
      continue;
    }
    seenUpdates.add(key);
    const plugin = ctx.cachedPlugin(job.pluginId)!;
    items.push({ ...job, plugin, d: decide(job.update, plugin, EMPTY_CHAT, now) });
  }
  if (items.length === 0) return;

  // 1. Processed-update marks: those that conflict are duplicates (or a reused update_id).
  const marked = await INSERT_MARKS.run(trx, ctx.seam, items.map((it) => ({
    plugin_id: it.pluginId, update_id: it.update.updateId, chat_id: it.update.message?.chatId ?? null,
    message_id: it.update.message?.messageId ?? null, outcome: it.d.outcome, received_at: now,
  })));
  const isNew = new Set(marked.map((r) => `${Number(r.plugin_id)}:${Number(r.update_id)}`));
  const fresh: typeof items = [];
  for (const it of items) {
    if (isNew.has(`${it.pluginId}:${it.update.updateId}`) || (await takeOverMark(ctx, it.pluginId, it.update, it.d.outcome))) fresh.push(it);
    else results[it.index] = { outcome: "duplicate", queuedMessage: false };
  }

  // 2. Tasks, one per (plugin, chat, message): a message that already has its task is not confirmed again.
  const seenMessages = new Set<string>();
  const taskRows: Array<ReturnType<typeof taskRow>> = [];
  const taskOf = new Map<number, { id: number; codigo: string }>();
  for (const it of fresh) {
    if (!it.d.task || !it.update.message) continue;
    const m = it.update.message;
    const key = `${it.pluginId}:${m.chatId}:${m.messageId}`;
    if (seenMessages.has(key)) continue;
    seenMessages.add(key);
    const row = taskRow(await ctx.nextTaskId(), it.plugin, m, it.d.task, now);
    taskRows.push(row);
    taskOf.set(it.index, { id: row.id, codigo: row.codigo });
  }
  const insertedTasks = await INSERT_TASKS.run(trx, ctx.seam, taskRows);
  const taskInserted = new Set(insertedTasks.map((r) => Number(r.id)));
  await INSERT_EVENTS.run(trx, ctx.seam, taskRows.filter((t) => taskInserted.has(t.id))
    .map((t) => ({ type: "task.created", usuario_id: t.usuario_id, plugin_id: t.plugin_id, task_id: t.id, at: now })));

  // 3. Outgoing messages: confirmations of new tasks, and replies that need no task.
  const outRows: Array<ReturnType<typeof outgoingRow>> = [];
  for (const it of fresh) {
    const task = taskOf.get(it.index) ?? null;
    if (it.d.task && (!task || !taskInserted.has(task.id))) {
      results[it.index] = { outcome: "duplicate_message", queuedMessage: false };
      continue;
    }
    if (it.d.reply && it.d.chatId !== undefined) outRows.push(outgoingRow(it.pluginId, it.d.chatId, it.d.reply, task, now));
    results[it.index] = { outcome: it.d.outcome, taskCodigo: task?.codigo, queuedMessage: it.d.reply !== undefined };
  }
  await INSERT_OUTGOING.run(trx, ctx.seam, outRows);
}
