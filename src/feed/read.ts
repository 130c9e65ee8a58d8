// Reading the feed: one user's events after a cursor, in commit order, each with its task's
// current public JSON. The events table is the truth; notifications only say "look again".
import { sql } from "kysely";
import type { Db, DialectSeam } from "../db/dialect.ts";
import { toPublicTask, type PublicTask } from "../tasks/store.ts";
import { formatCursor, type FeedPosition } from "./cursor.ts";

export interface FeedItem {
  id: number;
  type: string;
  at: number;
  task?: PublicTask;
  plugin_id: number;
}

export interface PositionedItem {
  item: FeedItem;
  position: FeedPosition;
  cursor: string;
}

export interface ReadQuery {
  usuarioId: number;
  after: FeedPosition;
  /** Only these types (undefined: all). */
  types?: readonly string[];
  limit: number;
}

interface EventRow {
  id: number;
  type: string;
  at: number;
  plugin_id: number;
  task_id: number | null;
  txid: string;
}

export async function readEvents(db: Db, seam: DialectSeam, q: ReadQuery): Promise<PositionedItem[]> {
  const rows = seam.capabilities.idsInCommitOrder ? await readInIdOrder(db, q) : await readBehindHorizon(db, q);
  if (rows.length === 0) return [];
  const taskIds = [...new Set(rows.flatMap((r) => (r.task_id === null ? [] : [Number(r.task_id)])))];
  const tasks = new Map<number, PublicTask>();
  if (taskIds.length > 0) {
    for (const t of await db.selectFrom("tasks").selectAll().where("id", "in", taskIds).execute()) tasks.set(Number(t.id), toPublicTask(t, seam));
  }
  return rows.map((r) => {
    const position = { txid: String(r.txid), id: Number(r.id) };
    const task = r.task_id === null ? undefined : tasks.get(Number(r.task_id));
    const item: FeedItem = { id: Number(r.id), type: r.type, at: Number(r.at), ...(task ? { task } : {}), plugin_id: Number(r.plugin_id) };
    return { item, position, cursor: formatCursor(seam, position) };
  });
}

async function readInIdOrder(db: Db, q: ReadQuery): Promise<EventRow[]> {
  let s = db
    .selectFrom("events")
    .select(["id", "type", "at", "plugin_id", "task_id", sql<string>`'0'`.as("txid")])
    .where("usuario_id", "=", q.usuarioId)
    .where("id", ">", q.after.id);
  if (q.types) s = s.where("type", "in", [...q.types]);
  return s.orderBy("id").limit(q.limit).execute();
}

/**
 * PostgreSQL: the txid below which every transaction that could write our events has ended. The
 * snapshot's xmin would do, but it is cluster-wide: a long transaction in another database on the
 * same server would hold the feed back. So transactions known to belong to another database
 * (pg_stat_activity) are left out; anything unknown counts as ours (only latency is at stake).
 * This runs as its own statement before the read, whose later snapshot then sees every
 * transaction below the horizon as ended.
 */
async function horizon(db: Db): Promise<string> {
  const r = await sql<{ h: string }>`
    with snap as (select pg_current_snapshot() as s),
    elsewhere as (
      select backend_xid::text as x from pg_stat_activity
      where backend_xid is not null and datname is distinct from current_database()
    )
    select coalesce(
      (select min(x)::text from snap, pg_snapshot_xip(snap.s) as x
        where (x::text::numeric % 4294967296)::text not in (select x from elsewhere)),
      (select pg_snapshot_xmax(s)::text from snap)) as h`.execute(db);
  return r.rows[0]!.h;
}

async function readBehindHorizon(db: Db, q: ReadQuery): Promise<EventRow[]> {
  // Only transactions older than every one still running that may write here: their events are
  // all committed (or rolled back) and no event can appear before them any more, so the cursor
  // never skips one.
  const h = await horizon(db);
  let s = db
    .selectFrom("events")
    .select(["id", "type", "at", "plugin_id", "task_id", sql<string>`txid::text`.as("txid")])
    .where("usuario_id", "=", q.usuarioId)
    .where(sql<boolean>`(txid, id) > (${q.after.txid}::xid8, ${q.after.id}::bigint)`)
    .where(sql<boolean>`txid < ${h}::xid8`);
  if (q.types) s = s.where("type", "in", [...q.types]);
  return s.orderBy(sql`txid`).orderBy("id").limit(q.limit).execute();
}

/**
 * Where a new subscription starts: after everything already final. On PostgreSQL that is the
 * oldest running transaction, so an event committed just before the subscription but not yet
 * final is delivered rather than skipped.
 */
export async function headPosition(db: Db, seam: DialectSeam): Promise<FeedPosition> {
  if (!seam.capabilities.idsInCommitOrder) return { txid: await horizon(db), id: 0 };
  const r = await db.selectFrom("events").select(sql<number>`coalesce(max(id), 0)`.as("m")).executeTakeFirstOrThrow();
  return { txid: "0", id: Number(r.m) };
}
