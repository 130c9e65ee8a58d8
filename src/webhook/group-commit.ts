// Group commit: updates that arrive while a batch is being written wait for the next one, and all
// of them are written together (write-batch.ts: planned at once, written by the dialect's one
// writer; one fsync on SQLite, one round trip on PostgreSQL for the common case). Each webhook
// request is answered only after the write holding its update has committed, so the guarantee
// "no 200 before the commit" is kept while throughput grows with concurrency. The writer gives an
// outcome per update: committed updates are answered; those that failed are retried one per
// transaction, so a single bad update cannot fail its neighbours.
import type { Db, DialectSeam, WriteOutcome } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import type { ApplyResult } from "./write-plans.ts";
import type { PluginState } from "../plugins/state.ts";
import { writeBatch, type BatchWriter } from "./write-batch.ts";

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

  constructor(
    db: Db,
    seam: DialectSeam,
    private readonly opts: CommitterOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    // How many batches one process writes side by side: the dialect's choice (its capabilities.ts).
    this.maxInFlight = seam.capabilities.writeConcurrency;
    this.now = opts.now ?? Date.now;
    this.writer = opts.writer ?? ((jobs, now) => writeBatch(db, seam, jobs, now));
  }

  /** `cached`: the plugin's state as the webhook looked it up (updates are planned on it, see write-batch.ts). */
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
    let outcomes: WriteOutcome[];
    try {
      outcomes = await this.write(batch);
    } catch (err) {
      outcomes = batch.map(() => ({ failed: err }));
    }
    const failed: Job[] = [];
    let committed = false;
    let queued = false;
    batch.forEach((job, i) => {
      const o = outcomes[i] ?? { failed: new Error("the writer gave no outcome for this update") };
      if ("failed" in o) {
        // Alone, a failure is the update's own: the request is answered with an error (and Telegram redelivers).
        if (batch.length === 1) job.reject(o.failed);
        else failed.push(job);
        return;
      }
      committed = true;
      queued ||= o.queuedMessage;
      job.resolve(o);
    });
    try {
      if (queued) this.opts.onQueued?.();
      if (committed) this.opts.onCommitted?.();
    } catch {
      // A wake-up that failed delays a send or a feed reader (both also poll); the updates are committed.
    }
    if (failed.length === 0) return;
    // Retried alone, in the order Telegram numbered them (task ids follow update_id).
    failed.sort((a, b) => a.pluginId - b.pluginId || a.update.updateId - b.update.updateId);
    this.stats.fallbacks++;
    for (const job of failed) await this.commit([job]);
  }

  private async write(batch: Job[]): Promise<WriteOutcome[]> {
    const results = await this.writer(
      batch.map((j) => ({ pluginId: j.pluginId, update: j.update, cached: j.cached })),
      this.now(),
    );
    this.stats.transactions++;
    this.stats.updates += batch.length;
    return results;
  }
}
