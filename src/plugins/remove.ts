// Deleting a plugin for good (DELETE /api/v1/plugins/{id}): the plugin and everything recorded
// under it (tasks, outgoing messages, update marks, chat state) in one transaction. While it
// has open tasks (queued or in progress) the delete is refused unless forced, so a worker's
// claimed task does not vanish under it by accident.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import { appendEvent } from "../events/append.ts";
import { JoeError } from "../errors.ts";

export async function deletePlugin(db: Db, seam: DialectSeam, p: { id: number; usuarioId: number; force: boolean }, now = Date.now()): Promise<PluginRow> {
  return db.transaction().execute(async (trx) => {
    let read = trx.selectFrom("plugin_configs").selectAll().where("id", "=", p.id).where("usuario_id", "=", p.usuarioId);
    if (seam.name === "postgres") read = read.forUpdate();
    const row = await read.executeTakeFirst();
    if (!row) throw new JoeError("PLUGIN_NOT_FOUND", String(p.id));
    const open = await trx.selectFrom("tasks").select((eb) => eb.fn.countAll<number>().as("n"))
      .where("plugin_id", "=", p.id).where("estado", "in", ["queued", "in_progress"]).executeTakeFirstOrThrow();
    if (Number(open.n) > 0 && !p.force) throw new JoeError("PLUGIN_HAS_OPEN_TASKS", `${open.n} open task(s)`);
    await trx.deleteFrom("outgoing_messages").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("chat_state").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("processed_updates").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("unparsed_updates").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("tasks").where("plugin_id", "=", p.id).execute();
    await trx.deleteFrom("plugin_configs").where("id", "=", p.id).execute();
    // A linked bot stops being linked: the feed says so.
    if (Boolean(row.verificado)) await appendEvent(trx, { type: "plugin.unlinked", usuario_id: p.usuarioId, plugin_id: p.id, at: now });
    return row;
  });
}

/** Another plugin of this service already serves that bot (same username, any owner). */
export async function botAlreadyRegistered(db: Db, identificador: string): Promise<boolean> {
  const row = await db.selectFrom("plugin_configs").select("id")
    .where((eb) => eb(eb.fn("lower", ["identificador"]), "=", identificador.toLowerCase())).executeTakeFirst();
  return row !== undefined;
}
