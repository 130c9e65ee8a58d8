// Group commit: updates that arrive while a batch is being written wait for the next one, and all
// of them are written together (write-batch.ts: the fast path's one atomic step, plus one
// transaction for the rest; one fsync on SQLite, one round trip on PostgreSQL for the common case).
// Each webhook request is answered only after the write holding its update has committed, so the guarantee "no 200 before the commit" is kept while throughput grows
// with concurrency. If a batch fails, its updates are retried one per transaction so a single
// bad update cannot fail its neighbours.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import type { ApplyResult } from "./apply.ts";
import type { PluginState } from "./decide.ts";
import { writeBatch, PartialBatchError, type BatchWriter } from "./write-batch.ts";

interface Job {
  pluginId: number;
  update: ParsedUpdate;
  cached?: PluginState | null;
  resolve: (r: ApplyResult) => void;
  reject: (e: unknown) => void;
}

export interface CommitterOptions {
  /** Most updates in one transaction. */
  maxBatch?: number;
  /** Told after each commit that wrote outgoing messages (wakes the sender in this process). */
  onQueued?: () => void;
  /** Told after each commit (it may have written events: wakes the feed's readers, feed/notifier.ts). */
  onCommitted?: () => void;
  /** Writes one batch in one transaction; by default in this thread (see write-batch.ts). */
  writer?: BatchWriter;
  now?: () => number;
}

export class GroupCommitter {
  private queue: Job[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  private readonly writer: BatchWriter;
  /** Counters for tests and benchmarks: how many transactions carried how many updates. */
  readonly stats = { transactions: 0, updates: 0, fallbacks: 0 };

  constructor(private readonly db: Db, private readonly seam: DialectSeam, private readonly opts: CommitterOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 256;
    // SQLite has one writer; PostgreSQL commits several transactions at once, and a batch spends
    // most of its time waiting on round trips, so a few batches are written side by side.
    this.maxInFlight = seam.capabilities.writeConcurrency;
    this.now = opts.now ?? Date.now;
    this.writer = opts.writer ?? ((jobs, now) => writeBatch(db, seam, jobs, now));
  }

  /** `cached`: the plugin's state as the webhook looked it up (the fast path decides on it, see write-linked.ts). */
  submit(pluginId: number, update: ParsedUpdate, cached?: PluginState | null): Promise<ApplyResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ pluginId, update, cached, resolve, reject });
      if (!this.scheduled && this.inFlight < this.maxInFlight) {
        this.scheduled = true;
        // Let the requests already read in this turn of the event loop join the batch.
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Resolves when nothing is queued or being written (graceful shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      // commit() settles every job's promise itself and never rejects.
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commit(batch: Job[]): Promise<void> {
    try {
      const results = await this.write(batch);
      batch.forEach((job, i) => job.resolve(results[i]!));
      if (results.some((r) => r.queuedMessage)) this.opts.onQueued?.();
      this.opts.onCommitted?.();
    } catch (err) {
      let failed = batch;
      if (err instanceof PartialBatchError) {
        // Answer what was committed; only the rest is retried.
        failed = batch.filter((job, i) => {
          const r = err.results[i];
          if (r) job.resolve(r);
          return !r;
        });
        if (err.results.some((r) => r?.queuedMessage)) this.opts.onQueued?.();
        this.opts.onCommitted?.();
      } else if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      this.stats.fallbacks++;
      for (const job of failed) await this.commit([job]);
    }
  }

  private async write(batch: Job[]): Promise<ApplyResult[]> {
    const results = await this.writer(batch.map((j) => ({ pluginId: j.pluginId, update: j.update, cached: j.cached })), this.now());
    this.stats.transactions++;
    this.stats.updates += batch.length;
    return results;
  }

}
