// The task lifecycle (SPEC "Task lifecycle"): queued → in_progress (claimed, with a lease) →
// done | failed; queued | in_progress → cancelled; a lease that runs out puts the task back to
// queued. Every change writes its `task.state_changed` event in the same transaction, and a
// result the worker asks to be told goes to the chat through the outbox in that transaction too,
// so it is sent once (a repeated complete finds the task done: 409, no second message).
import { sql } from "kysely";
import type { Db, DialectSeam, Tx } from "../db/dialect.ts";
import type { TaskRow } from "../db/schema.ts";
import { appendEvents, type NewEvent } from "../events/append.ts";
import { JoeError } from "../errors.ts";
import { metadatosOf } from "../plugins/state.ts";
import { chooseLang, TEXTS, type Lang } from "../telegram/texts.ts";
import { toPublicTask, type PublicTask } from "./store.ts";

export const ESTADOS = ["queued", "in_progress", "done", "failed", "cancelled"] as const;
export type Estado = (typeof ESTADOS)[number];

/**
 * A task as the API shows it: the contract's fields, plus `lease_until` and `lease_id` while it is
 * claimed. `lease_id` names the claim: it is the claim count (`attempts`, +1 per claim), so a
 * worker whose lease ran out and whose task was claimed again holds an id that no longer matches.
 */
export type ApiTask = PublicTask & { lease_until?: string; lease_id?: string };

export function toApiTask(r: TaskRow, seam: DialectSeam): ApiTask {
  const t: ApiTask = toPublicTask(r, seam);
  if (r.estado === "in_progress" && r.lease_until !== null) {
    t.lease_until = new Date(Number(r.lease_until)).toISOString();
    t.lease_id = String(Number(r.attempts));
  }
  return t;
}

const stateChanged = (r: { id: number | string; usuario_id: number | string; plugin_id: number | string }, at: number): NewEvent => ({
  type: "task.state_changed",
  usuario_id: Number(r.usuario_id),
  plugin_id: Number(r.plugin_id),
  task_id: Number(r.id),
  at,
});

/**
 * Puts the user's tasks whose lease ran out back to `queued` (one event each). Called inside the
 * claim's transaction, so an abandoned task is claimable again by the very next claim. On
 * PostgreSQL rows another claimer is already requeueing are skipped, not waited for.
 */
export async function requeueExpired(trx: Tx, seam: DialectSeam, usuarioId: number, now: number): Promise<number> {
  const expired = trx.selectFrom("tasks").select("id").where("usuario_id", "=", usuarioId).where("estado", "=", "in_progress").where("lease_until", "<", now);
  let rows: Array<{ id: number; usuario_id: number; plugin_id: number }>;
  if (seam.capabilities.skipLocked) {
    rows = (
      await sql<{ id: number; usuario_id: number; plugin_id: number }>`with picked as materialized (${expired.forUpdate().skipLocked()})
      update tasks set estado = 'queued', lease_until = null, claimed_by = null, updated_at = ${now}
      from picked where tasks.id = picked.id and tasks.estado = 'in_progress' returning tasks.id, tasks.usuario_id, tasks.plugin_id`.execute(trx)
    ).rows;
  } else {
    rows = await trx
      .updateTable("tasks")
      .set({ estado: "queued", lease_until: null, claimed_by: null, updated_at: now })
      .where("id", "in", expired)
      .where("estado", "=", "in_progress")
      .returning(["id", "usuario_id", "plugin_id"])
      .execute();
  }
  await appendEvents(
    trx,
    rows.map((r) => stateChanged(r, now)),
  );
  return rows.length;
}

export interface ClaimInput {
  usuarioId: number;
  tokenId: number;
  limit: number;
  leaseMs: number;
  tipo?: string;
  pluginId?: number;
}

/**
 * The oldest queued tasks of the user, now in_progress with a lease. Never the same task to two
 * claimers: PostgreSQL locks the chosen rows with FOR UPDATE SKIP LOCKED inside the one UPDATE
 * statement (concurrent claimers take the next rows instead of waiting); SQLite runs the whole
 * claim in one IMMEDIATE transaction (one writer at a time).
 */
export async function claimTasks(db: Db, seam: DialectSeam, c: ClaimInput, now = Date.now()): Promise<ApiTask[]> {
  const rows = await db.transaction().execute(async (trx) => {
    await requeueExpired(trx, seam, c.usuarioId, now);
    let pick = trx.selectFrom("tasks").select("id").where("usuario_id", "=", c.usuarioId).where("estado", "=", "queued");
    if (c.tipo !== undefined) pick = pick.where("tipo", "=", c.tipo);
    if (c.pluginId !== undefined) pick = pick.where("plugin_id", "=", c.pluginId);
    pick = pick.orderBy("id").limit(c.limit);
    let claimed: TaskRow[];
    if (seam.capabilities.skipLocked) {
      // The chosen ids are materialized first: PostgreSQL may otherwise run a LIMIT … FOR UPDATE
      // subquery of an UPDATE more than once and claim more than `limit` rows (seen in the tests).
      const r = await sql<TaskRow>`with picked as materialized (${pick.forUpdate().skipLocked()})
        update tasks set estado = 'in_progress', lease_until = ${now + c.leaseMs}, claimed_by = ${c.tokenId},
          attempts = attempts + 1, updated_at = ${now}
        from picked where tasks.id = picked.id and tasks.estado = 'queued' returning tasks.*`.execute(trx);
      claimed = r.rows;
    } else {
      claimed = await trx
        .updateTable("tasks")
        .set({ estado: "in_progress", lease_until: now + c.leaseMs, claimed_by: c.tokenId, attempts: sql<number>`attempts + 1`, updated_at: now })
        .where("id", "in", pick)
        .where("estado", "=", "queued")
        .returningAll()
        .execute();
    }
    await appendEvents(
      trx,
      claimed.map((r) => stateChanged(r, now)),
    );
    return claimed;
  });
  return rows.sort((a, b) => Number(a.id) - Number(b.id)).map((r) => toApiTask(r, seam));
}

export type Action = "complete" | "fail" | "cancel";

/** Which states each action may start from, and where it leads. */
const TRANSITIONS: Record<Action, { from: Estado[]; to: Estado }> = {
  complete: { from: ["in_progress"], to: "done" },
  fail: { from: ["in_progress"], to: "failed" },
  cancel: { from: ["queued", "in_progress"], to: "cancelled" },
};

export interface TransitionInput {
  usuarioId: number;
  taskId: number;
  action: Action;
  /** complete: metadatos_extra.resultado; fail: metadatos_extra.error. */
  detail?: string;
  /** complete/fail: answer the original message in the chat. */
  notify: boolean;
  /** complete/fail: the claim's `lease_id`; given and not the current claim → 409. */
  leaseId?: string;
}

/** Telegram refuses messages longer than 4096 characters (UTF-16 units); cut without splitting a pair. */
export function cutForTelegram(text: string, max = 4096): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * The bot's language for a result: the plugin's setting, else the language the bot used for this
 * task's confirmation (it followed the sender's Telegram language), else Spanish.
 */
async function langForTask(trx: Tx, seam: DialectSeam, task: TaskRow): Promise<Lang> {
  const plugin = await trx.selectFrom("plugin_configs").select("metadatos").where("id", "=", task.plugin_id).executeTakeFirst();
  const forced = plugin ? metadatosOf(plugin, seam).idioma : undefined;
  if (forced === "es" || forced === "en") return chooseLang(forced, undefined);
  const conf = await trx
    .selectFrom("outgoing_messages")
    .select("text")
    .where("task_id", "=", task.id)
    .where("kind", "=", "confirmation")
    .limit(1)
    .executeTakeFirst();
  return conf?.text === TEXTS.received.en(task.codigo) ? "en" : "es";
}

/**
 * Whether the task's plugin is still linked to the chat the task came from: a result is only told
 * there. Unlinked since, or linked to another chat, the message is skipped (the state still changes).
 */
async function stillLinkedTo(trx: Tx, task: TaskRow): Promise<boolean> {
  const p = await trx.selectFrom("plugin_configs").select(["verificado", "chat_id_verificado"]).where("id", "=", task.plugin_id).executeTakeFirst();
  return p !== undefined && Boolean(Number(p.verificado)) && p.chat_id_verificado !== null && String(p.chat_id_verificado) === String(task.chat_id);
}

/** Applies complete / fail / cancel. Returns the task and whether a chat message was queued. */
export async function transitionTask(db: Db, seam: DialectSeam, t: TransitionInput, now = Date.now()): Promise<{ task: ApiTask; queued: boolean }> {
  const rule = TRANSITIONS[t.action];
  return db.transaction().execute(async (trx) => {
    let read = trx.selectFrom("tasks").selectAll().where("id", "=", t.taskId).where("usuario_id", "=", t.usuarioId);
    if (seam.capabilities.rowLocks) read = read.forUpdate();
    const row = await read.executeTakeFirst();
    if (!row) throw new JoeError("TASK_NOT_FOUND");
    const estado = row.estado as Estado;
    if (!rule.from.includes(estado)) {
      throw new JoeError("INVALID_TRANSITION", `task ${row.codigo} is ${estado}; ${t.action} needs ${rule.from.join(" or ")}`);
    }
    const leaseLost = () => new JoeError("INVALID_TRANSITION", `the lease was lost: the task was claimed again (task ${row.codigo})`);
    if (t.action !== "cancel" && t.leaseId !== undefined && t.leaseId !== String(Number(row.attempts))) throw leaseLost();
    if (t.action !== "cancel" && row.lease_until !== null && Number(row.lease_until) < now) {
      throw new JoeError(
        "INVALID_TRANSITION",
        `the lease on task ${row.codigo} ran out at ${new Date(Number(row.lease_until)).toISOString()}; it goes back to queued: claim it again`,
      );
    }
    const meta = (seam.json.parse(row.metadatos_extra) ?? {}) as Record<string, unknown>;
    if (t.action === "complete" && t.detail !== undefined) meta.resultado = t.detail;
    if (t.action === "fail") meta.error = t.detail ?? "";
    // Conditional on the state and claim read above, so the change is atomic with the checks.
    const update = trx
      .updateTable("tasks")
      .set({ estado: rule.to, lease_until: null, metadatos_extra: JSON.stringify(meta), updated_at: now })
      .where("id", "=", row.id)
      .where("estado", "=", estado)
      .where("attempts", "=", row.attempts);
    const updated = await update.returningAll().executeTakeFirst();
    // Only possible if another writer changed the row between the read and the update (SQLite
    // excludes that; PostgreSQL's FOR UPDATE too): refuse rather than apply twice.
    if (!updated) {
      if (t.leaseId !== undefined) throw leaseLost();
      throw new JoeError("INVALID_TRANSITION", `task ${row.codigo} changed meanwhile; read it again`);
    }
    await appendEvents(trx, [stateChanged(row, now)]);

    let queued = false;
    if (t.notify && t.action !== "cancel" && (await stillLinkedTo(trx, row))) {
      const lang = await langForTask(trx, seam, row);
      const text = t.action === "complete" ? TEXTS.taskDone[lang](row.codigo, t.detail) : TEXTS.taskFailed[lang](row.codigo, t.detail ?? "");
      await trx
        .insertInto("outgoing_messages")
        .values({
          plugin_id: row.plugin_id,
          chat_id: row.chat_id,
          kind: t.action === "complete" ? "result" : "failure",
          text: cutForTelegram(text),
          reply_to_message_id: row.message_id,
          task_id: row.id,
          status: "pending",
          next_attempt_at: now,
          created_at: now,
        })
        .execute();
      queued = true;
    }
    return { task: toApiTask(updated, seam), queued };
  });
}

/** One task of the user by id (another user's task is not found). */
export async function getTask(db: Db, seam: DialectSeam, usuarioId: number, taskId: number): Promise<ApiTask> {
  const row = await db.selectFrom("tasks").selectAll().where("id", "=", taskId).where("usuario_id", "=", usuarioId).executeTakeFirst();
  if (!row) throw new JoeError("TASK_NOT_FOUND");
  return toApiTask(row, seam);
}
