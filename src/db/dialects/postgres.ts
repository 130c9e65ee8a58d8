// PostgreSQL: many web instances and workers share one server. Workers claim outgoing messages
// with FOR UPDATE SKIP LOCKED so any number can run without sending a message twice.
import pg from "pg";
import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database, OutgoingRow } from "../schema.ts";
import type { Db, DialectSeam, Tx } from "../dialect.ts";
import { postgresWebhookWriter } from "./postgres/webhook-writer.ts";
import { dueOutgoingIds, windowEnd, type ClaimWindow } from "../claim-sql.ts";

// BIGINT (int8) and COUNT come back as strings by default; every value we keep fits in 53 bits
// (Telegram chat ids are at most 52 bits), so read them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

export function openPostgres(url: string, poolSize = 10): { db: Db; seam: DialectSeam; close: () => Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // A client losing its connection (server restart, backend terminated) must not crash the
  // process: idle clients report to the pool, busy ones to themselves; the query in flight fails
  // with the error anyway, and the webhook answers 503.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, seam: createPostgresSeam(), close: () => db.destroy() };
}

/** Task ids taken from the sequence at once: most batches need no round trip for their ids. */
const TASK_ID_BLOCK = 256;
/**
 * A block is used for at most this long. With several instances each hands out its own block;
 * discarding it after a second keeps ids in creation order across instances to within a second
 * (`tasks list` shows the newest first by id).
 */
const TASK_ID_BLOCK_MS = 1000;

const MIGRATION_LOCK_KEY = 7_310_452_001; // arbitrary, fixed: "joe-telegram migrations"
const PG_UNAVAILABLE_CLASSES = ["08", "53", "57", "58"]; // connection, resources, operator intervention, system
const NODE_NET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"]);

/** One per opened database: it holds that database's block of task ids. */
export function createPostgresSeam(): DialectSeam {
  // Ids reserved from tasks_id_seq and not yet used. nextval is not transactional, so a block
  // taken inside a transaction that rolls back stays reserved; unused ids (at exit, or when a
  // block expires) are gaps, as they always could be.
  let free: number[] = [];
  let takenAt = 0;
  const taskIds = async (conn: Tx | Db, n: number): Promise<number[]> => {
    if (Date.now() - takenAt > TASK_ID_BLOCK_MS) free = [];
    while (free.length < n) {
      takenAt = Date.now();
      const want = Math.max(TASK_ID_BLOCK, n - free.length);
      const r = await sql<{ id: number }>`select nextval('tasks_id_seq') as id from generate_series(1, ${want})`.execute(conn);
      for (const x of r.rows) free.push(Number(x.id));
    }
    return free.splice(0, n);
  };
  return {
    ...postgresSeamBase, nextTaskIds: taskIds, webhookWriter: postgresWebhookWriter(taskIds),
  };
}

const postgresSeamBase: Omit<DialectSeam, "nextTaskIds" | "webhookWriter"> = {
  name: "postgres",
  types: { autoId: sql`bigserial`, json: sql`jsonb`, boolean: sql`boolean`, assignedId: sql`bigint`, keyedTableSuffix: sql`` },
  // One batch at a time per instance: while it is written the next one fills up, so a batch
  // carries more updates per round trip. An A/B run measured more requests per second and less
  // CPU per update than with 2 (or 4) in flight (bench/NOTES.md).
  writeConcurrency: 1,
  // The pool records send outcomes side by side.
  groupOutcomes: false,
  pluginReadLock: sql`for key share`,
  pluginDecideLock: sql`for no key update`,
  // Each statement is a round trip: a whole batch's rows in one.
  parseJson: (v) => (typeof v === "string" ? JSON.parse(v) : v),
  jsonFlagIsTrue: (column, key) => sql<boolean>`(${sql.ref(column)} ->> ${key}) = 'true'`,
  async withMigrationLock(db, fn) {
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
  async afterMigrate(db: Db) {
    await sql`create sequence if not exists tasks_id_seq`.execute(db);
  },
  async claimOutgoing(db: Db, w: ClaimWindow, leaseMs: number) {
    return db.transaction().execute(async (trx) => {
      // The window must be read in index order and stop after `w.window` rows. When a backlog
      // builds up faster than statistics are refreshed, the planner guesses a few dozen open rows
      // and reads the whole backlog with a bitmap scan and a sort instead, several times the
      // server CPU per claim of the index-order read (bench/NOTES.md).
      await sql`set local enable_bitmapscan = off`.execute(trx);
      const r = await sql<OutgoingRow>`
        update outgoing_messages set status = 'sending', claimed_until = ${w.now + leaseMs}
        where id in (${dueOutgoingIds(w, sql`for update of m skip locked`)})
        returning *`.execute(trx);
      const end = (await windowEnd(w).execute(trx)).rows[0];
      return { rows: r.rows, nextAfterId: end && Number(end.n) >= w.window ? Number(end.last) : 0 };
    });
  },
  async recoverClaims() {
    return 0; // other workers may be alive: stale claims are retaken when their lease ends
  },
  isUnavailable(err) {
    const e = err as { code?: string; message?: string };
    const code = e?.code ?? "";
    if (NODE_NET_ERRORS.has(code)) return true;
    if (PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))) return true;
    // 55000 "object not in prerequisite state" is also what a database closed to connections says.
    if (code === "55000" && /not currently accepting connections/i.test(e?.message ?? "")) return true;
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e?.message ?? "");
  },
  isUniqueViolation(err) {
    return (err as { code?: string })?.code === "23505";
  },
};
