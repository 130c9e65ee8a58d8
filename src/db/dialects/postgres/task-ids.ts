import { sql } from "kysely";
import type { Db, TaskIds, Tx } from "../../dialect.ts";

/** Task ids taken from the sequence at once: most batches need no round trip for their ids. */
const TASK_ID_BLOCK = 256;
/**
 * A block is used for at most this long. With several instances each hands out its own block;
 * discarding it after a second keeps ids in creation order across instances to within a second
 * (`tasks list` shows the newest first by id).
 */
const TASK_ID_BLOCK_MS = 1000;

/** One per opened database: it holds that database's block of task ids. */
export function createTaskIds(): TaskIds & { next(conn: Tx | Db, n: number): Promise<number[]> } {
  // Ids reserved from tasks_id_seq and not yet used. nextval is not transactional, so a block
  // taken inside a transaction that rolls back stays reserved; unused ids (at exit, or when a
  // block expires) are gaps, as they always could be.
  let free: number[] = [];
  let takenAt = 0;
  return {
    async next(conn: Tx | Db, n: number): Promise<number[]> {
      if (Date.now() - takenAt > TASK_ID_BLOCK_MS) free = [];
      while (free.length < n) {
        takenAt = Date.now();
        const want = Math.max(TASK_ID_BLOCK, n - free.length);
        const r = await sql<{ id: number }>`select nextval('tasks_id_seq') as id from generate_series(1, ${want})`.execute(conn);
        for (const x of r.rows) free.push(Number(x.id));
      }
      return free.splice(0, n);
    },
  };
}
