// What the dashboard reads, always scoped to the signed-in user: every query takes the user's id
// and filters on it, so another user's task or bot is simply "not found".
import { sql, type Expression, type SqlBool } from "kysely";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { OutgoingRow, PluginRow } from "../db/schema.ts";
import { toPublicTask, type PublicTask } from "../tasks/store.ts";
import { taskIdFromCodigo } from "../tasks/codigo.ts";

export const ESTADOS = ["queued", "in_progress", "done", "failed", "cancelled"] as const;
export const TIPOS = ["telegram", "telegram_voice"] as const;

export interface TaskFilters {
  estado?: string;
  tipo?: string;
  pluginId?: number;
  q?: string;
}

/** The filters from a query string; anything unknown is ignored rather than refused (a stale link still shows tasks). */
export function parseFilters(query: Record<string, unknown>): TaskFilters {
  const s = (k: string) => (typeof query[k] === "string" && (query[k] as string).trim() !== "" ? (query[k] as string).trim() : undefined);
  const estado = s("estado");
  const tipo = s("tipo");
  const bot = s("bot");
  const q = s("q");
  return {
    estado: estado && (ESTADOS as readonly string[]).includes(estado) ? estado : undefined,
    tipo: tipo && (TIPOS as readonly string[]).includes(tipo) ? tipo : undefined,
    pluginId: bot && /^\d{1,15}$/.test(bot) ? Number(bot) : undefined,
    q: q ? q.slice(0, 200) : undefined,
  };
}

function textoOriginal(seam: DialectSeam): Expression<string | null> {
  return seam.json.text("metadatos_extra", "texto_original");
}

function likePattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The user's tasks, newest first; `afterId` gives only those newer than a task already shown. */
export async function listUserTasks(
  db: Db,
  seam: DialectSeam,
  usuarioId: number,
  f: TaskFilters,
  opts: { afterId?: number; limit?: number; ids?: number[] } = {},
): Promise<PublicTask[]> {
  let q = db
    .selectFrom("tasks")
    .selectAll()
    .where("usuario_id", "=", usuarioId)
    .orderBy("id", "desc")
    .limit(opts.limit ?? 50);
  if (f.estado) q = q.where("estado", "=", f.estado);
  if (f.tipo) q = q.where("tipo", "=", f.tipo);
  if (f.pluginId !== undefined) q = q.where("plugin_id", "=", f.pluginId);
  if (opts.afterId !== undefined) q = q.where("id", ">", opts.afterId);
  if (opts.ids) q = q.where("id", "in", opts.ids.length ? opts.ids : [-1]);
  if (f.q) {
    const pattern = likePattern(f.q);
    q = q.where((eb) =>
      eb.or([sql<SqlBool>`lower(titulo) like ${pattern} escape '\\'`, sql<SqlBool>`lower(coalesce(${textoOriginal(seam)}, '')) like ${pattern} escape '\\'`]),
    );
  }
  return (await q.execute()).map((r) => toPublicTask(r, seam));
}

/** The newest event id (0 when there is none): where the live view starts watching. */
export async function lastEventId(db: Db, usuarioId: number): Promise<number> {
  const row = await db
    .selectFrom("events")
    .select((eb) => eb.fn.max("id").as("m"))
    .where("usuario_id", "=", usuarioId)
    .executeTakeFirst();
  return Number(row?.m ?? 0);
}

/** Tasks touched by events after `afterEventId` (state changes made by workers, the API, this dashboard). */
export async function tasksChangedSince(db: Db, usuarioId: number, afterEventId: number): Promise<{ taskIds: number[]; lastEventId: number }> {
  const rows = await db
    .selectFrom("events")
    .select(["id", "task_id"])
    .where("usuario_id", "=", usuarioId)
    .where("id", ">", afterEventId)
    .orderBy("id")
    .limit(500)
    .execute();
  const taskIds = [...new Set(rows.flatMap((r) => (r.task_id === null ? [] : [Number(r.task_id)])))];
  return { taskIds, lastEventId: rows.length ? Number(rows[rows.length - 1]!.id) : afterEventId };
}

export async function findUserTask(db: Db, seam: DialectSeam, usuarioId: number, codigo: string): Promise<PublicTask | null> {
  const id = taskIdFromCodigo(codigo);
  if (id === null) return null;
  const row = await db.selectFrom("tasks").selectAll().where("id", "=", id).where("usuario_id", "=", usuarioId).executeTakeFirst();
  return row ? toPublicTask(row, seam) : null;
}

export async function taskMessages(db: Db, taskId: number): Promise<OutgoingRow[]> {
  return db.selectFrom("outgoing_messages").selectAll().where("task_id", "=", taskId).orderBy("id").execute();
}

export async function listUserBots(db: Db, usuarioId: number): Promise<PluginRow[]> {
  return db.selectFrom("plugin_configs").selectAll().where("usuario_id", "=", usuarioId).where("servicio", "=", "telegram").orderBy("id").execute();
}

export async function findUserBot(db: Db, usuarioId: number, pluginId: number): Promise<PluginRow | null> {
  const row = await db
    .selectFrom("plugin_configs")
    .selectAll()
    .where("id", "=", pluginId)
    .where("usuario_id", "=", usuarioId)
    .where("servicio", "=", "telegram")
    .executeTakeFirst();
  return row ?? null;
}

export async function failedMessages(db: Db, pluginId: number): Promise<OutgoingRow[]> {
  return db
    .selectFrom("outgoing_messages")
    .selectAll()
    .where("plugin_id", "=", pluginId)
    .where("status", "=", "failed")
    .orderBy("id", "desc")
    .limit(50)
    .execute();
}

export async function countTasksOfBot(db: Db, pluginId: number): Promise<number> {
  const row = await db
    .selectFrom("tasks")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("plugin_id", "=", pluginId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
