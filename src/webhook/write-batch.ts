// One group-commit batch: plan every update on the plugin state the webhook looked up (cached for
// a few seconds; plan.ts, pure), then hand the plans to the dialect's one writer
// (db/dialects/*/webhook-writer.ts), which checks what each plan rests on, decides again what
// no longer holds, and commits. Pure data in, pure data out: the committer can be given another
// writer (tests, benchmarks).
import type { Db, DialectSeam, WriteOutcome } from "../db/dialect.ts";
import type { ParsedUpdate } from "../telegram/update.ts";
import type { PluginState } from "../plugins/state.ts";
import { planBatch, type PlanJob } from "./plan.ts";

export interface BatchJob {
  pluginId: number;
  update: ParsedUpdate;
  /** The plugin's state as the webhook last looked it up (may be a few seconds old). */
  cached?: PluginState | null;
}

/** Writes the jobs and returns an outcome for each, in the same order. */
export type BatchWriter = (jobs: BatchJob[], now: number) => Promise<WriteOutcome[]>;

export async function writeBatch(db: Db, seam: DialectSeam, batch: BatchJob[], now: number): Promise<WriteOutcome[]> {
  const jobs: PlanJob[] = batch.map((j, index) => ({ index, pluginId: j.pluginId, update: j.update }));
  // Only states the webhook looked up for this very plugin; the rest is read by the writer.
  const plugins = new Map<number, PluginState | null>();
  for (const j of batch) if (j.cached && j.cached.id === j.pluginId && !plugins.has(j.pluginId)) plugins.set(j.pluginId, j.cached);
  const plans = planBatch(jobs, { plugins, chats: new Map() }, now);
  const done = await seam.webhookWriter.write(db, jobs, plans, { now, seam });
  return batch.map((_, i) => done.get(i) ?? { failed: new Error("webhook writer: no outcome for an update") });
}
