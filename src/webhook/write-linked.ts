// The fast path (seam.linkedRun): messages from a plugin's linked chat, decided on the plugin
// state the webhook looked up (cached for a few seconds), written with their marks, tasks and
// confirmations in one atomic step — one statement on PostgreSQL, one synchronous transaction of
// prepared statements on SQLite — which itself checks that the link each decision rests on
// still holds. What it leaves alone — updates decided on a stale state — is handed back to the
// transactional path, which reads the plugin fresh and decides again.
import type { Db, LinkedRunWriter } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import { decide, EMPTY_CHAT, type Decision, type PluginState } from "./decide.ts";
import { outgoingRow, taskRow, type ApplyResult } from "./apply.ts";

export interface LinkedJob {
  /** Position in the batch (results are returned in the batch's order). */
  index: number;
  pluginId: number;
  update: ParsedUpdate;
  /** The state the webhook had for the plugin, on which the update is decided. */
  plugin: PluginState;
}

/**
 * Writes what it can of `jobs` and fills their `results`; returns the batch positions left for
 * the transactional path.
 */
export async function writeLinked(db: Db, writer: LinkedRunWriter, jobs: LinkedJob[], now: number, results: ApplyResult[]): Promise<number[]> {
  const items: Array<{ job: LinkedJob; d: Decision }> = [];
  const seenUpdates = new Set<string>();
  let tasks = 0;
  // In (plugin, update_id) order, as the transactional path: task ids (and so `tasks list`)
  // follow the order Telegram numbered the updates in, whatever order the requests arrived in.
  const ordered = [...jobs].sort((a, b) => a.pluginId - b.pluginId || a.update.updateId - b.update.updateId);
  for (const job of ordered) {
    // The same update twice in one batch (two concurrent deliveries): the first one counts.
    const key = `${job.pluginId}:${job.update.updateId}`;
    if (seenUpdates.has(key)) {
      results[job.index] = { outcome: "duplicate", queuedMessage: false };
      continue;
    }
    seenUpdates.add(key);
    const d = decide(job.update, job.plugin, EMPTY_CHAT, now);
    // The same message under two update_ids is left to the database: each gets a task row, and
    // the task's key (plugin, chat, message) keeps the first one written, in update_id order.
    if (d.task) tasks++;
    items.push({ job, d });
  }
  if (items.length === 0) return [];

  const { rows, outcomes } = await writer.write(db, tasks, (ids) => {
    let next = 0;
    return items.map(({ job, d }) => {
      const m = job.update.message;
      const task = d.task && m ? taskRow(ids[next++]!, job.plugin, m, d.task, now) : null;
      const reply = d.reply && d.chatId !== undefined ? outgoingRow(job.pluginId, d.chatId, d.reply, task, now) : null;
      return { pluginId: job.pluginId, updateId: job.update.updateId, chatId: m?.chatId ?? null, messageId: m?.messageId ?? null, outcome: d.outcome, task, reply };
    });
  }, now);
  const left: number[] = [];
  items.forEach(({ job, d }, i) => {
    const o = outcomes[i]!;
    const row = rows[i]!;
    if (!o.stateHeld) left.push(job.index);
    else if (!o.marked) results[job.index] = { outcome: "duplicate", queuedMessage: false };
    else if (d.task && !(row.task && o.taskInserted)) results[job.index] = { outcome: "duplicate_message", queuedMessage: false };
    else results[job.index] = { outcome: d.outcome, taskCodigo: row.task?.codigo, queuedMessage: row.reply !== null };
  });
  return left;
}
