// The transcription queue's SQL, one operation per function. A voice task is pending while
// `metadatos_extra.pendiente_stt` is true (found through the partial index of migration 0010);
// its `stt_jobs` row, made by the first claim, holds the lease, the attempts and the last error.
import { sql } from "kysely";
import type { Db, DialectSeam, Tx } from "../db/dialect.ts";
import { pendingSttPredicate } from "../db/migrations.ts";
import { appendEvent } from "../events/append.ts";

export interface ClaimedJob {
  taskId: number;
  attempts: number;
  leaseUntil: number;
}

/**
 * Takes up to `limit` pending voice tasks whose job is new, due for a retry, or whose lease ran
 * out (a crashed worker), oldest first. One statement: a job row is taken by one claimer only —
 * a second claimer's upsert finds the lease already in the future and takes nothing.
 */
export async function claimSttJobs(db: Db, seam: DialectSeam, o: { now: number; limit: number; leaseMs: number }): Promise<ClaimedJob[]> {
  const lease = o.now + o.leaseMs;
  const due = sql`(j.estado in ('pending', 'transcribing') and coalesce(j.lease_until, 0) < ${o.now} and j.next_attempt_at <= ${o.now})`;
  const r = await sql<{ task_id: number | string; attempts: number | string }>`
    insert into stt_jobs (task_id, estado, attempts, next_attempt_at, lease_until, updated_at)
    select t.id, 'transcribing', 1, 0, ${lease}, ${o.now}
      from tasks t left join stt_jobs j on j.task_id = t.id
     where ${sql.raw(pendingSttPredicate(seam))} and (j.task_id is null or ${due})
     order by t.id limit ${o.limit}
    on conflict (task_id) do update set estado = 'transcribing', attempts = stt_jobs.attempts + 1,
       lease_until = excluded.lease_until, updated_at = excluded.updated_at
     where stt_jobs.estado in ('pending', 'transcribing') and coalesce(stt_jobs.lease_until, 0) < ${o.now}
       and stt_jobs.next_attempt_at <= ${o.now}
    returning task_id, attempts`.execute(db);
  return r.rows.map((x) => ({ taskId: Number(x.task_id), attempts: Number(x.attempts), leaseUntil: lease }));
}

/** Extends a lease held by this worker (a long note); false when it is not ours any more. */
export async function renewSttLease(db: Db, job: ClaimedJob, until: number): Promise<boolean> {
  const r = await db
    .updateTable("stt_jobs")
    .set({ lease_until: until })
    .where("task_id", "=", job.taskId)
    .where("estado", "=", "transcribing")
    .where("lease_until", "=", job.leaseUntil)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  job.leaseUntil = until;
  return true;
}

/** The job is still ours (inside a transaction that is about to record its outcome). */
async function stillOurs(trx: Tx, job: ClaimedJob): Promise<boolean> {
  const row = await trx.selectFrom("stt_jobs").select(["estado", "lease_until"]).where("task_id", "=", job.taskId).executeTakeFirst();
  return row?.estado === "transcribing" && Number(row.lease_until) === job.leaseUntil;
}

export interface TaskForStt {
  id: number;
  codigo: string;
  plugin_id: number;
  usuario_id: number;
  chat_id: number;
  message_id: number;
  titulo: string;
  meta: Record<string, unknown>;
}

export async function readTaskForStt(db: Db | Tx, seam: DialectSeam, taskId: number, forUpdate = false): Promise<TaskForStt | null> {
  let q = db
    .selectFrom("tasks")
    .select(["id", "codigo", "plugin_id", "usuario_id", "chat_id", "message_id", "titulo", "metadatos_extra"])
    .where("id", "=", taskId);
  // PostgreSQL: hold the row so an edit or a state change from another instance waits (SQLite's write transaction excludes them anyway).
  if (forUpdate && seam.capabilities.rowLocks) q = q.forUpdate();
  const r = await q.executeTakeFirst();
  if (!r) return null;
  return {
    id: Number(r.id),
    codigo: r.codigo,
    plugin_id: Number(r.plugin_id),
    usuario_id: Number(r.usuario_id),
    chat_id: Number(r.chat_id),
    message_id: Number(r.message_id),
    titulo: r.titulo,
    meta: (seam.json.parse(r.metadatos_extra) ?? {}) as Record<string, unknown>,
  };
}

export interface ChatNote {
  kind: string;
  text: string;
  replyTo: number | null;
}

/**
 * Records a finished transcription in one transaction: the task's title and metadata, the job
 * done, a task.updated event, and what the chat is told. Nothing is written when the lease was
 * lost meanwhile (another worker owns the job now), so the chat is told once.
 */
export async function recordTranscript(
  db: Db,
  seam: DialectSeam,
  job: ClaimedJob,
  now: number,
  build: (task: TaskForStt) => { titulo: string; meta: Record<string, unknown>; notes: ChatNote[] },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await stillOurs(trx, job))) return false;
    const task = await readTaskForStt(trx, seam, job.taskId, true);
    if (!task) {
      await trx
        .updateTable("stt_jobs")
        .set({ estado: "failed", lease_until: null, last_error: "task deleted", updated_at: now })
        .where("task_id", "=", job.taskId)
        .execute();
      return false;
    }
    const out = build(task);
    await trx
      .updateTable("tasks")
      .set({ titulo: out.titulo, metadatos_extra: JSON.stringify(out.meta) })
      .where("id", "=", task.id)
      .execute();
    await trx.updateTable("stt_jobs").set({ estado: "done", lease_until: null, last_error: null, updated_at: now }).where("task_id", "=", task.id).execute();
    await insertNotes(trx, task, out.notes, now);
    await appendEvent(trx, { type: "task.updated", usuario_id: task.usuario_id, plugin_id: task.plugin_id, task_id: task.id, at: now });
    return true;
  });
}

/** A failed attempt: retried at `retryAt`, or (null) failed for good — then the task and the chat say why. */
export async function recordSttFailure(
  db: Db,
  seam: DialectSeam,
  job: ClaimedJob,
  now: number,
  error: string,
  retryAt: number | null,
  failedNote?: (task: TaskForStt) => ChatNote,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    if (!(await stillOurs(trx, job))) return false;
    if (retryAt !== null) {
      await trx
        .updateTable("stt_jobs")
        .set({ estado: "pending", lease_until: null, last_error: error, next_attempt_at: retryAt, updated_at: now })
        .where("task_id", "=", job.taskId)
        .execute();
      return true;
    }
    await trx
      .updateTable("stt_jobs")
      .set({ estado: "failed", lease_until: null, last_error: error, updated_at: now })
      .where("task_id", "=", job.taskId)
      .execute();
    const task = await readTaskForStt(trx, seam, job.taskId, true);
    if (!task) return true;
    const meta = { ...task.meta, stt: { ...(task.meta.stt as object | undefined), estado: "failed", error, intentos: job.attempts } };
    await trx
      .updateTable("tasks")
      .set({ metadatos_extra: JSON.stringify(meta) })
      .where("id", "=", task.id)
      .execute();
    if (failedNote) await insertNotes(trx, task, [failedNote(task)], now);
    await appendEvent(trx, { type: "task.updated", usuario_id: task.usuario_id, plugin_id: task.plugin_id, task_id: task.id, at: now });
    return true;
  });
}

/** Gives claims back (a graceful stop): pending again at once, the attempt not counted. */
export async function releaseSttJob(db: Db, job: ClaimedJob, now: number): Promise<void> {
  await db
    .updateTable("stt_jobs")
    .set({ estado: "pending", lease_until: null, attempts: sql`attempts - 1`, updated_at: now })
    .where("task_id", "=", job.taskId)
    .where("estado", "=", "transcribing")
    .where("lease_until", "=", job.leaseUntil)
    .execute();
}

async function insertNotes(trx: Tx, task: TaskForStt, notes: ChatNote[], now: number): Promise<void> {
  if (notes.length === 0) return;
  await trx
    .insertInto("outgoing_messages")
    .values(
      notes.map((n) => ({
        plugin_id: task.plugin_id,
        chat_id: task.chat_id,
        kind: n.kind,
        text: n.text,
        reply_to_message_id: n.replyTo,
        task_id: task.id,
        status: "pending",
        next_attempt_at: now,
        created_at: now,
      })),
    )
    .execute();
}

/** State of the transcription of each task (for `tasks list` and the API): pending when no job yet. */
export async function sttStates(db: Db, taskIds: number[]): Promise<Map<number, { estado: string; attempts: number; last_error: string | null }>> {
  if (taskIds.length === 0) return new Map();
  const rows = await db.selectFrom("stt_jobs").select(["task_id", "estado", "attempts", "last_error"]).where("task_id", "in", taskIds).execute();
  return new Map(rows.map((r) => [Number(r.task_id), { estado: r.estado, attempts: Number(r.attempts), last_error: r.last_error }]));
}

/** `stt retry`: failed notes (all, or the given task ids) back in the queue, due now, attempts from zero. */
export async function retryFailedSttJobs(db: Db, now: number, taskIds?: number[]): Promise<number> {
  let q = db
    .updateTable("stt_jobs")
    .set({ estado: "pending", attempts: 0, next_attempt_at: now, lease_until: null, updated_at: now })
    .where("estado", "=", "failed");
  if (taskIds) q = q.where("task_id", "in", taskIds.length ? taskIds : [-1]);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
