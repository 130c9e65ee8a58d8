// One group-commit batch. Messages from linked chats go first through the fast path, decided on
// the webhook's cached plugin state (write-linked.ts; seam.linkedRun: one statement on
// PostgreSQL, one synchronous transaction on SQLite). The rest — and whatever the fast path left
// alone — is written in one transaction: plugins read once, task ids reserved at once, updates applied in
// (plugin, update_id) order — runs of messages from linked chats with multi-row statements
// (apply-bulk.ts), anything that changes state one by one (apply.ts).
// Pure data in, pure data out: the committer can be given another writer (tests, benchmarks).
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import { applyUpdate, BatchContext, type ApplyResult } from "./apply.ts";
import { applyBulk, isBulkable, type BulkJob } from "./apply-bulk.ts";
import { writeLinked, type LinkedJob } from "./write-linked.ts";
import type { PluginState } from "./decide.ts";

/** Message kinds that can become a task (text, voice notes, photos, documents). */
const MAY_MAKE_A_TASK = new Set(["text", "voice", "photo", "document"]);

export interface BatchJob {
  pluginId: number;
  update: ParsedUpdate;
  /** The plugin's state as the webhook last looked it up (may be a few seconds old). */
  cached?: PluginState | null;
}

/** Writes the jobs (each committed before it returns) and returns their results in the same order. */
export type BatchWriter = (jobs: BatchJob[], now: number) => Promise<ApplyResult[]>;

export async function writeBatch(db: Db, seam: DialectSeam, batch: BatchJob[], now: number): Promise<ApplyResult[]> {
  if (!seam.linkedRun) return writeInTransaction(db, seam, batch, now);
  const out: ApplyResult[] = new Array(batch.length);
  let linked: LinkedJob[] = [];
  let rest: number[] = [];
  batch.forEach((job, index) => {
    if (job.cached && job.cached.id === job.pluginId && isBulkable(job.cached, job.update)) linked.push({ index, pluginId: job.pluginId, update: job.update, plugin: job.cached });
    else rest.push(index);
  });
  // The fast path commits first, so it may only take a plugin's updates that come before all of
  // that plugin's others in update_id order. One batch can hold states looked up before and after
  // a link ("/start", then a message at once): the later message must not get the earlier task id.
  if (rest.length > 0 && linked.length > 0) {
    const firstRest = new Map<number, number>();
    for (const i of rest) {
      const { pluginId, update } = batch[i]!;
      firstRest.set(pluginId, Math.min(firstRest.get(pluginId) ?? Infinity, update.updateId));
    }
    linked = linked.filter((j) => {
      if (j.update.updateId < (firstRest.get(j.pluginId) ?? Infinity)) return true;
      rest.push(j.index);
      return false;
    });
  }
  if (linked.length > 0) rest = rest.concat(await writeLinked(db, seam.linkedRun, linked, now, out));
  if (rest.length > 0) {
    let results: ApplyResult[];
    try {
      results = await writeInTransaction(db, seam, rest.map((i) => batch[i]!), now);
    } catch (err) {
      // The fast path's updates are committed already: they must be answered as written, not
      // written again (they would come back as duplicates, without their task codes).
      if (rest.length < batch.length) throw new PartialBatchError(out, err);
      throw err;
    }
    for (const [k, i] of rest.entries()) out[i] = results[k]!;
  }
  return out;
}

/**
 * Part of a batch committed and the rest failed: `results` holds the committed updates' results
 * (the failed ones are undefined). The committer answers the former and retries the latter.
 */
export class PartialBatchError extends Error {
  constructor(readonly results: Array<ApplyResult | undefined>, override readonly cause: unknown) {
    super("part of the batch could not be written");
  }
}

async function writeInTransaction(db: Db, seam: DialectSeam, batch: BatchJob[], now: number): Promise<ApplyResult[]> {
  return db.transaction().execute(async (trx) => {
    const ctx = new BatchContext(trx, seam, now);
    await ctx.loadPlugins(batch.map((j) => j.pluginId));
    // Reserve the task ids the batch may need in one go. It must be an upper bound (unused ids are
    // gaps): a run that runs out asks again, and SQLite's max(id) + 1 cannot see ids handed out
    // but not yet inserted, so it would hand one out twice.
    await ctx.reserveTaskIds(batch.filter((j) => MAY_MAKE_A_TASK.has(j.update.message?.kind ?? "")).length);
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
