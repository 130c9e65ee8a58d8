// Carry out one decision inside the webhook's transaction: the processed-update mark first (it
// is what makes a redelivered or concurrently delivered update a no-op), then the link, the
// task, the chat/plugin counters and the outgoing message. All or nothing, with the batch.
import type { Tx, DialectSeam } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import { decide, EMPTY_CHAT, type ChatState, type Decision, type PluginState } from "./decide.ts";
import { pluginState } from "../plugins/state.ts";
import { taskCodigo } from "../tasks/codigo.ts";
import { appendEvent } from "../events/append.ts";
import { applyChatIntent } from "./apply-chat.ts";

export const TASK_ESTADO_INICIAL = "queued";

export interface ApplyResult {
  outcome: string;
  taskCodigo?: string;
  /** An outgoing message was written: the sender may wake up. */
  queuedMessage: boolean;
}

/** Per-transaction context: plugin states read once per batch, task ids reserved in bulk. */
export class BatchContext {
  private plugins = new Map<number, PluginState | null>();
  /** Plugins this transaction has read under seam.locks.decide. */
  private decideLocked = new Set<number>();
  private ids: number[] = [];
  constructor(readonly trx: Tx, readonly seam: DialectSeam, readonly now: number) {}

  async plugin(id: number, fresh = false): Promise<PluginState | null> {
    if (!fresh && this.plugins.has(id)) return this.plugins.get(id)!;
    const row = await this.trx.selectFrom("plugin_configs").selectAll().where("id", "=", id)
      .$if(this.seam.locks.read !== null, (q) => q.modifyEnd(this.seam.locks.read!)).executeTakeFirst();
    const state = row ? pluginState(row, this.seam) : null;
    this.plugins.set(id, state);
    return state;
  }

  /**
   * The plugin's state for deciding an update that may change its linking counters (a `/start`
   * guess, a warning to a chat that is not the linked one). On PostgreSQL the row is read again
   * under `for no key update`: another instance deciding a guess for this bot waits for this
   * transaction's commit and then reads the counters it wrote, so the limits hold across any
   * number of instances. Taken once per transaction (it then is the only writer of those
   * counters, and setPlugin keeps the cached state current). The chat's counters need no lock of
   * their own: every write to them from the webhook happens under this one.
   */
  async pluginForCounters(id: number): Promise<PluginState | null> {
    const lock = this.seam.locks.decide;
    if (lock === null || this.decideLocked.has(id)) return this.plugin(id);
    const row = await this.trx.selectFrom("plugin_configs").selectAll().where("id", "=", id).modifyEnd(lock).executeTakeFirst();
    const state = row ? pluginState(row, this.seam) : null;
    this.plugins.set(id, state);
    this.decideLocked.add(id);
    return state;
  }

  /** Read the states of every plugin in the batch in one query. */
  async loadPlugins(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.plugins.has(id));
    if (missing.length === 0) return;
    // In id order: the lock order of every instance.
    const rows = await this.trx.selectFrom("plugin_configs").selectAll().where("id", "in", missing).orderBy("id")
      .$if(this.seam.locks.read !== null, (q) => q.modifyEnd(this.seam.locks.read!)).execute();
    for (const id of missing) this.plugins.set(id, null);
    for (const row of rows) this.plugins.set(Number(row.id), pluginState(row, this.seam));
  }

  /** The state loaded for this batch (undefined if not loaded). */
  cachedPlugin(id: number): PluginState | null | undefined {
    return this.plugins.get(id);
  }

  setPlugin(id: number, state: PluginState): void {
    this.plugins.set(id, state);
  }

  async reserveTaskIds(n: number): Promise<void> {
    if (n > 0) this.ids.push(...(await this.seam.taskIds.next(this.trx, n)));
  }

  async nextTaskId(): Promise<number> {
    if (this.ids.length === 0) await this.reserveTaskIds(1);
    return this.ids.shift()!;
  }
}

async function chatState(trx: Tx, pluginId: number, chatId: number): Promise<ChatState> {
  const row = await trx.selectFrom("chat_state").selectAll()
    .where("plugin_id", "=", pluginId).where("chat_id", "=", chatId).executeTakeFirst();
  if (!row) return EMPTY_CHAT;
  return {
    lastWarnedAt: row.last_warned_at === null ? null : Number(row.last_warned_at),
    failedStarts: Number(row.failed_starts),
    failedWindowStartedAt: row.failed_window_started_at === null ? null : Number(row.failed_window_started_at),
  };
}

/** Insert the processed-update mark; false when this update was already taken (a duplicate). */
async function markProcessed(ctx: BatchContext, pluginId: number, update: ParsedUpdate, outcome: string): Promise<boolean> {
  const chatId = update.message?.chatId ?? null;
  const messageId = update.message?.messageId ?? null;
  const inserted = await ctx.trx.insertInto("processed_updates")
    .values({ plugin_id: pluginId, update_id: update.updateId, chat_id: chatId, message_id: messageId, outcome, received_at: ctx.now })
    .onConflict((oc) => oc.columns(["plugin_id", "update_id"]).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return true;
  return takeOverMark(ctx, pluginId, update, outcome);
}

/**
 * The mark (plugin_id, update_id) exists already. Usually that is this very update again (a
 * duplicate: false). But update_id restarts at a random value after a week of silence: an old
 * mark with the same id and another message is not this update, so take the mark over (true).
 */
export async function takeOverMark(ctx: BatchContext, pluginId: number, update: ParsedUpdate, outcome: string): Promise<boolean> {
  const chatId = update.message?.chatId ?? null;
  const messageId = update.message?.messageId ?? null;
  const old = await ctx.trx.selectFrom("processed_updates").select(["chat_id", "message_id"])
    .where("plugin_id", "=", pluginId).where("update_id", "=", update.updateId).executeTakeFirst();
  const num = (v: number | null) => (v === null ? null : Number(v));
  const same = !old || (num(old.chat_id) === chatId && num(old.message_id) === messageId);
  if (same) return false;
  await ctx.trx.updateTable("processed_updates")
    .set({ chat_id: chatId, message_id: messageId, outcome, received_at: ctx.now })
    .where("plugin_id", "=", pluginId).where("update_id", "=", update.updateId).execute();
  return true;
}

export function taskRow(id: number, plugin: PluginState, msg: { chatId: number; messageId: number }, task: NonNullable<Decision["task"]>, now: number) {
  return {
    id, codigo: taskCodigo(id), usuario_id: plugin.usuarioId, plugin_id: plugin.id,
    tipo: task.tipo, titulo: task.titulo, estado: TASK_ESTADO_INICIAL,
    chat_id: msg.chatId, message_id: msg.messageId,
    metadatos_extra: JSON.stringify(task.metadatos_extra), created_at: new Date(now).toISOString(),
  };
}

export function outgoingRow(pluginId: number, chatId: number, reply: NonNullable<Decision["reply"]>, task: { id: number; codigo: string } | null, now: number) {
  return {
    plugin_id: pluginId, chat_id: chatId, kind: reply.kind,
    text: typeof reply.text === "function" ? reply.text(task?.codigo ?? "") : reply.text,
    reply_to_message_id: reply.replyTo ?? null, task_id: task?.id ?? null, status: "pending",
    next_attempt_at: now, created_at: now,
  };
}

export async function applyUpdate(ctx: BatchContext, pluginId: number, update: ParsedUpdate): Promise<ApplyResult> {
  const { trx, now } = ctx;
  let plugin = await ctx.plugin(pluginId);
  if (!plugin) return { outcome: "plugin_gone", queuedMessage: false };

  const msg = update.message;
  // The chat's counters only matter to chats that are not the linked one.
  const fromOtherChat = (p: PluginState) => msg !== undefined && (!p.verificado || msg.chatId !== p.chatIdVerificado);
  if (fromOtherChat(plugin)) {
    // Its decision may count a guess or a warning: decide on the counters as committed, locked.
    plugin = await ctx.pluginForCounters(pluginId);
    if (!plugin) return { outcome: "plugin_gone", queuedMessage: false };
  }
  let chat = msg !== undefined && fromOtherChat(plugin) ? await chatState(trx, pluginId, msg.chatId) : EMPTY_CHAT;
  let decision: Decision = decide(update, plugin, chat, now);

  if (!(await markProcessed(ctx, pluginId, update, decision.outcome))) return { outcome: "duplicate", queuedMessage: false };

  if (decision.link) {
    const r = await trx.updateTable("plugin_configs")
      .set({ verificado: 1, chat_id_verificado: decision.link.chatId, intentos_fallidos: 0, bloqueado_en: null, updated_at: new Date(now).toISOString() })
      .where("id", "=", pluginId).where("verificado", "=", 0).where("codigo_verificacion", "=", plugin.codigoVerificacion)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      // Someone else linked (or unlinked) in between: decide again on the fresh state.
      plugin = (await ctx.plugin(pluginId, true))!;
      chat = await chatState(trx, pluginId, decision.link.chatId);
      decision = decide(update, plugin, chat, now);
      if (decision.link) return { outcome: "link_conflict", queuedMessage: false };
    } else {
      ctx.setPlugin(pluginId, { ...plugin, verificado: true, chatIdVerificado: decision.link.chatId, intentosFallidos: 0, bloqueadoEn: null });
      await appendEvent(trx, { type: "plugin.linked", usuario_id: plugin.usuarioId, plugin_id: pluginId, at: now });
    }
  }

  if (decision.pluginPatch) {
    const p = decision.pluginPatch;
    // Decided on the row as committed and locked (pluginForCounters): the values are exact.
    const next = { ...plugin, intentosFallidos: p.intentosFallidos ?? plugin.intentosFallidos, bloqueadoEn: p.bloqueadoEn ?? plugin.bloqueadoEn };
    await trx.updateTable("plugin_configs")
      .set({ intentos_fallidos: next.intentosFallidos, bloqueado_en: next.bloqueadoEn })
      .where("id", "=", pluginId).execute();
    ctx.setPlugin(pluginId, next);
  }

  if (decision.chatPatch && decision.chatId !== undefined) {
    const next = { ...chat, ...decision.chatPatch };
    const values = { last_warned_at: next.lastWarnedAt, failed_starts: next.failedStarts, failed_window_started_at: next.failedWindowStartedAt };
    await trx.insertInto("chat_state").values({ plugin_id: pluginId, chat_id: decision.chatId, ...values })
      .onConflict((oc) => oc.columns(["plugin_id", "chat_id"]).doUpdateSet(values)).execute();
  }

  // A chat command or an edit: read what it is about, change it with its event, and answer.
  if (decision.intent && msg) {
    const done = await applyChatIntent(ctx, plugin, msg.chatId, decision.intent);
    decision = { ...decision, outcome: done.outcome, reply: done.reply };
  }

  let task: { id: number; codigo: string } | null = null;
  if (decision.task && msg) {
    const row = taskRow(await ctx.nextTaskId(), plugin, msg, decision.task, now);
    const inserted = await trx.insertInto("tasks").values(row)
      .onConflict((oc) => oc.columns(["plugin_id", "chat_id", "message_id"]).doNothing()).executeTakeFirst();
    // Same message already has its task (the same message in another update): nothing more to do.
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return { outcome: "duplicate_message", queuedMessage: false };
    task = { id: row.id, codigo: row.codigo };
    await appendEvent(trx, { type: "task.created", usuario_id: row.usuario_id, plugin_id: pluginId, task_id: row.id, at: now });
  }

  if (decision.reply && decision.chatId !== undefined) {
    await trx.insertInto("outgoing_messages").values(outgoingRow(pluginId, decision.chatId, decision.reply, task, now)).execute();
  }
  return { outcome: decision.outcome, taskCodigo: task?.codigo, queuedMessage: decision.reply !== undefined };
}
