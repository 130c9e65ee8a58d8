// Deleting a plugin for good, the one function the API, the CLI and the dashboard share: the
// plugin and everything recorded under it in one transaction. Each caller keeps its policy: the
// API refuses while it has open tasks (queued or in progress) unless forced, so a worker's claimed
// task does not vanish under it by accident; the CLI refuses while it has any task unless
// --force; the dashboard asked for confirmation.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import { appendEvent } from "../events/append.ts";
import { JoeError } from "../errors.ts";

export interface RemovePluginInput {
  id: number;
  /** When given, the plugin must be this user's (else PLUGIN_NOT_FOUND). */
  usuarioId?: number;
  /**
   * The caller's policy: "open" refuses while it has queued / in_progress tasks (the API, unless
   * forced), "any" refuses while it has any task (the CLI, unless --force), "none" never refuses
   * (the dashboard, which asked for confirmation first).
   */
  refuse: "open" | "any" | "none";
}

/**
 * The one way a plugin is deleted (API, CLI and dashboard): the plugin and everything recorded
 * under it — its tasks and their STT jobs, outgoing messages, update marks, unparsed updates,
 * chat state and its polling state (so a plugin that later reuses the id starts with a clean
 * getUpdates offset) — in one transaction. Returns the deleted row and how many tasks went with it.
 */
export async function removePlugin(db: Db, seam: DialectSeam, p: RemovePluginInput, now = Date.now()): Promise<{ row: PluginRow; tasks: number }> {
  return db.transaction().execute(async (trx) => {
    let read = trx.selectFrom("plugin_configs").selectAll().where("id", "=", p.id);
    if (p.usuarioId !== undefined) read = read.where("usuario_id", "=", p.usuarioId);
    if (seam.capabilities.rowLocks) read = read.forUpdate();
    const row = await read.executeTakeFirst();
    if (!row) throw new JoeError("PLUGIN_NOT_FOUND", String(p.id));
    const count = async (open: boolean) => {
      let q = trx
        .selectFrom("tasks")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("plugin_id", "=", p.id);
      if (open) q = q.where("estado", "in", ["queued", "in_progress"]);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };
    if (p.refuse === "open") {
      const n = await count(true);
      if (n > 0) throw new JoeError("PLUGIN_HAS_OPEN_TASKS", `${n} open task(s)`);
    }
    const tasks = await count(false);
    if (p.refuse === "any" && tasks > 0) {
      throw new JoeError("PLUGIN_HAS_TASKS", `plugin ${p.id} has ${tasks} task(s); pass --force to delete them with it`);
    }
    await trx
      .deleteFrom("stt_jobs")
      .where("task_id", "in", trx.selectFrom("tasks").select("id").where("plugin_id", "=", p.id))
      .execute();
    for (const table of ["outgoing_messages", "chat_state", "processed_updates", "unparsed_updates", "polling_state"] as const) {
      await trx.deleteFrom(table).where("plugin_id", "=", p.id).execute();
    }
    await trx.deleteFrom("tasks").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("plugin_configs").where("id", "=", p.id).execute();
    // A linked bot stops being linked: the feed says so.
    if (row.verificado) await appendEvent(trx, { type: "plugin.unlinked", usuario_id: Number(row.usuario_id), plugin_id: p.id, at: now });
    return { row, tasks };
  });
}

/** DELETE /api/v1/plugins/{id}: refused while it has open tasks, unless forced. */
export async function deletePlugin(db: Db, seam: DialectSeam, p: { id: number; usuarioId: number; force: boolean }, now = Date.now()): Promise<PluginRow> {
  return (await removePlugin(db, seam, { id: p.id, usuarioId: p.usuarioId, refuse: p.force ? "none" : "open" }, now)).row;
}

/** Another plugin of this service already serves that bot (same username, any owner). */
export async function botAlreadyRegistered(db: Db, identificador: string): Promise<boolean> {
  const row = await db
    .selectFrom("plugin_configs")
    .select("id")
    .where((eb) => eb(eb.fn("lower", ["identificador"]), "=", identificador.toLowerCase()))
    .executeTakeFirst();
  return row !== undefined;
}
