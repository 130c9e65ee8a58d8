import { sql } from "kysely";
import type { Db, MigrationSupport } from "../../dialect.ts";

const MIGRATION_LOCK_KEY = 7_310_452_001; // arbitrary, fixed: "joe-telegram migrations"

export const migrations: MigrationSupport = {
  async withLock(db, fn) {
    // A session-level advisory lock on one pinned connection: instances starting together run
    // the migrations one after the other (even the creation of Kysely's own lock table).
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
      try {
        await fn(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
      }
    });
  },
  async dropTaskCodigoUnique(db) {
    // A column's UNIQUE constraint is named <table>_<column>_key by PostgreSQL.
    await sql`alter table tasks drop constraint if exists tasks_codigo_key`.execute(db);
  },
  async after(db: Db) {
    await sql`create sequence if not exists tasks_id_seq`.execute(db);
  },
};
