import { sql } from "kysely";
import type { MigrationSupport } from "../../dialect.ts";

export const migrations: MigrationSupport = {
  // No lock: Kysely takes none on SQLite. The migrations are safe to run twice at once (tables
  // "if not exists", 0002 checks inside its own write transaction), and migrate() tries once more
  // when the record of a migration collides with another process's.
  withLock: (db, fn) => fn(db),
  async dropTaskCodigoUnique(db) {
    // The check and the rebuild in one IMMEDIATE transaction: a second process migrating at the
    // same moment waits for the first, then finds nothing left to do.
    await db.transaction().execute(async (trx) => {
      const indexes = (await sql<{ name: string; unique: number }>`select name, "unique" from pragma_index_list('tasks')`.execute(trx)).rows;
      let onCodigo = false;
      for (const ix of indexes.filter((i) => i.unique)) {
        const cols = (await sql<{ name: string }>`select name from pragma_index_info(${ix.name})`.execute(trx)).rows;
        if (cols.length === 1 && cols[0]!.name === "codigo") onCodigo = true;
      }
      if (!onCodigo) return; // done before
      // SQLite cannot drop a constraint: rebuild the table without it (nothing references
      // tasks, so no foreign key is affected).
      await sql`create table tasks_rebuilt (
        id integer primary key, codigo text not null, usuario_id bigint not null,
        plugin_id bigint not null references plugin_configs (id), tipo text not null, titulo text not null,
        estado text not null, chat_id bigint not null, message_id bigint not null, metadatos_extra text not null,
        created_at text not null,
        constraint tasks_message_unique unique (plugin_id, chat_id, message_id))`.execute(trx);
      await sql`insert into tasks_rebuilt (id, codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at)
        select id, codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at from tasks`.execute(trx);
      await sql`drop table tasks`.execute(trx);
      await sql`alter table tasks_rebuilt rename to tasks`.execute(trx);
    });
  },
};
