// Housekeeping that keeps the dedupe table small. Marks are kept 8 days: Telegram redelivers for
// at most a day, and update_id only restarts after a week of silence.
import type { Db } from "../db/dialect.ts";
import type { Logger } from "../log.ts";

export const KEEP_MARKS_MS = 8 * 24 * 3600_000;

export async function pruneProcessedUpdates(db: Db, now = Date.now()): Promise<number> {
  const r = await db
    .deleteFrom("processed_updates")
    .where("received_at", "<", now - KEEP_MARKS_MS)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export function startMaintenance(db: Db, logger: Logger, everyMs = 3600_000): { stop(): void } {
  const run = () =>
    pruneProcessedUpdates(db).then(
      (n) => n > 0 && logger.info({ pruned: n }, "maintenance: old processed-update marks removed"),
      (err) => logger.warn({ err }, "maintenance: prune failed (will retry)"),
    );
  const first = setTimeout(run, 10_000);
  const t = setInterval(run, everyMs);
  first.unref();
  t.unref();
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(t);
    },
  };
}
