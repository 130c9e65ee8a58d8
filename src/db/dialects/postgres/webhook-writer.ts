// PostgreSQL's webhook writer. Plans that only write rows and rest on the webhook's cached state
// (the common case: messages from linked chats) go first, in one statement (rows-statement.ts);
// everything else — links, guesses, warnings, commands, edits, and whatever that statement found
// no longer held — is written in one transaction by the shared procedure (webhook/write-plans.ts),
// which reads the plugin rows locked and decides again what changed. Two commits at most, and a
// result or a failure for every update: a failure of the second never disowns the first.
import { CompiledQuery } from "kysely";
import type { Db, TaskIds, Tx, WebhookWriter, WriteOutcome } from "../../dialect.ts";
import { locks } from "./locks.ts";
import { DUPLICATE, writePlans, type ApplyResult } from "../../../webhook/write-plans.ts";
import type { Step, WriteContext } from "../../../webhook/steps.ts";
import { onlyRows, type Plan, type PlanJob, type WritePlan } from "../../../webhook/plan.ts";
import { eventRow, markRow, outgoingRow, taskRow } from "../../../webhook/rows.ts";
import { writeRowsRun } from "./rows-statement.ts";

export function postgresWebhookWriter(taskIds: TaskIds): WebhookWriter {
  return {
    async write(db, jobs, plans, ctx) {
      const out = new Map<number, WriteOutcome>();
      const { first, rest } = splitRun(plans);
      let left = rest;
      if (first.length > 0) {
        const stale = await writeRun(db, first, ctx, out, taskIds);
        // Decided again with the plugin's other updates, in update_id order.
        left = [...rest, ...stale].sort((a, b) => a.pluginId - b.pluginId || a.updateId - b.updateId);
      }
      // Duplicates within the batch are answered inside the transaction (write-plans.ts): never
      // "duplicate" for an update whose first delivery then fails to commit.
      if (left.length === 0) return out;
      try {
        const results = await db.transaction().execute((trx) => drive(trx, jobs, left, ctx, taskIds));
        for (const [i, r] of results) out.set(i, r);
      } catch (err) {
        // The run above is committed: its updates are answered as written; these are retried.
        if (out.size === 0) throw err;
        for (const p of left) out.set(p.index, { failed: err });
      }
      return out;
    },
  };
}

/**
 * The plans the one-statement run may take: a plugin's updates that only write rows and come
 * before all of that plugin's others in update_id order (the run commits first, so a later
 * update must not get an earlier task id than one written after it).
 */
function splitRun(plans: readonly Plan[]): { first: WritePlan[]; rest: Plan[] } {
  const first: WritePlan[] = [];
  const rest: Plan[] = [];
  const blocked = new Set<number>();
  for (const p of plans) {
    if (p.kind === "duplicate") rest.push(p);
    else if (!blocked.has(p.pluginId) && onlyRows(p)) first.push(p);
    else {
      blocked.add(p.pluginId);
      rest.push(p);
    }
  }
  return { first, rest };
}

/** Writes the run; returns the plans whose state no longer held. */
async function writeRun(db: Db, plans: WritePlan[], ctx: WriteContext, out: Map<number, WriteOutcome>, taskIds: TaskIds): Promise<Plan[]> {
  const { now } = ctx;
  const taskCount = plans.filter((p) => p.task).length;
  const ids = taskCount > 0 ? await taskIds.next(db as unknown as Tx, taskCount) : [];
  let next = 0;
  const rows = plans.map((p) => {
    const task = p.task ? taskRow(ids[next++]!, p.task, now) : null;
    return {
      mark: markRow(p.pluginId, p.updateId, p.chatId, p.messageId, p.outcome, now),
      task,
      event: task ? eventRow("task.created", task.usuario_id, task.plugin_id, task.id, now) : null,
      reply: p.reply && p.chatId !== null ? outgoingRow(p.pluginId, p.chatId, p.reply, task, now) : null,
    };
  });
  const outcomes = await writeRowsRun(db, rows);
  const stale: Plan[] = [];
  plans.forEach((p, i) => {
    const o = outcomes[i]!;
    const row = rows[i]!;
    if (!o.held) stale.push(p);
    else if (!o.marked) out.set(p.index, DUPLICATE);
    else if (row.task && !o.taskInserted) out.set(p.index, { outcome: "duplicate_message", queuedMessage: false });
    else out.set(p.index, { outcome: p.outcome, ...(row.task ? { taskCodigo: row.task.codigo } : {}), queuedMessage: row.reply !== null });
  });
  return stale;
}

async function drive(trx: Tx, jobs: readonly PlanJob[], plans: readonly Plan[], ctx: WriteContext, taskIds: TaskIds): Promise<Map<number, ApplyResult>> {
  // Task ids in blocks: an upper bound of what the plans may need, then more if a plan decided
  // again needs them (unused ids are gaps).
  const ids: number[] = [];
  const reserve = async (n: number) => ids.push(...(await taskIds.next(trx, n)));
  const mayNeed = plans.filter((p) => p.kind !== "write" || p.task).length;
  if (mayNeed > 0) await reserve(mayNeed);
  const answer = async (step: Step): Promise<unknown> => {
    if (step.kind === "task_id") {
      if (ids.length === 0) await reserve(1);
      return ids.shift();
    }
    const { sql: text, parameters } = step.op.compile(trx, "postgres", locks, step.args);
    const r = await trx.executeQuery(CompiledQuery.raw(text, parameters));
    switch (step.op.spec.mode) {
      case "run":
        return Number(r.numAffectedRows ?? 0n);
      case "get":
        return r.rows[0];
      case "all":
        return r.rows;
    }
  };
  const steps = writePlans(jobs, plans, ctx);
  let next = steps.next();
  while (!next.done) next = steps.next(await answer(next.value));
  return next.value;
}
