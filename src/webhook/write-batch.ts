// One group-commit batch written in one transaction: plugins read once, task ids reserved at
// once, updates applied in (plugin, update_id) order — runs of messages from linked chats with
// multi-row statements (apply-bulk.ts), anything that changes state one by one (apply.ts).
// Pure data in, pure data out: the committer can be given another writer (tests, benchmarks).
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import { applyUpdate, BatchContext, type ApplyResult } from "./apply.ts";
import { applyBulk, isBulkable, type BulkJob } from "./apply-bulk.ts";

export interface BatchJob {
  pluginId: number;
  update: ParsedUpdate;
}

/** Writes the jobs in one transaction and returns their results in the same order. */
export type BatchWriter = (jobs: BatchJob[], now: number) => Promise<ApplyResult[]>;

export async function writeBatch(db: Db, seam: DialectSeam, batch: BatchJob[], now: number): Promise<ApplyResult[]> {
  return db.transaction().execute(async (trx) => {
    const ctx = new BatchContext(trx, seam, now);
    await ctx.loadPlugins(batch.map((j) => j.pluginId));
    // Reserve the task ids the batch may need in one go (an upper bound: unused ids are gaps).
    await ctx.reserveTaskIds(batch.filter((j) => j.update.message?.kind === "text" || j.update.message?.kind === "voice").length);
    // Applied in (plugin, update_id) order: the order Telegram numbered the events in, and one
    // lock order for every instance, so two instances holding the same updates cannot deadlock.
    const order = batch.map((_, i) => i).sort((a, b) =>
      batch[a]!.pluginId - batch[b]!.pluginId || batch[a]!.update.updateId - batch[b]!.update.updateId);
    const out: ApplyResult[] = new Array(batch.length);
    // Runs of updates that change no state (messages from linked chats) are written with
    // multi-row statements; anything else (linking, warnings, counters) one by one, in order.
    let run: BulkJob[] = [];
    for (const i of order) {
      const job = batch[i]!;
      if (isBulkable(ctx.cachedPlugin(job.pluginId), job.update)) {
        run.push({ index: i, pluginId: job.pluginId, update: job.update });
        continue;
      }
      if (run.length > 0) await applyBulk(ctx, run, out);
      run = [];
      out[i] = await applyUpdate(ctx, job.pluginId, job.update);
    }
    if (run.length > 0) await applyBulk(ctx, run, out);
    return out;
  });
}
