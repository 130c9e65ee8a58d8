// GET /readyz: "send me traffic" only when a write commits. `select 1` answers on a full disk, a
// read-only database or a failing WAL, while every webhook answers 503 — so readiness rests on
// two signals:
//   1. a probe that commits a real write (one row of `health_probe` rewritten), at most once a
//      second however often /readyz is called;
//   2. the webhook's own commits: a storage failure of a real batch (group committer) that no
//      commit has succeeded since makes the instance unready for `failureWindowMs`. This catches
//      what the tiny probe can miss (SQLite may rewrite its WAL in place on a full disk, so one
//      small write can succeed where a batch of tasks fails). The window ends by itself, so an
//      instance that a load balancer stopped sending traffic to is offered traffic again and
//      re-checked by it, instead of staying out for good.
import type { FastifyInstance } from "fastify";
import type { Db, DialectSeam, WriteOutcome } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import { ERRORS } from "../errors.ts";
import { sendError } from "./errors.ts";
import type { BatchWriter } from "../webhook/write-batch.ts";

export class WriteHealth {
  private lastFailureAt = 0;
  private lastSuccessAt = 0;
  constructor(
    readonly failureWindowMs = 15_000,
    private readonly now: () => number = Date.now,
  ) {}

  recordSuccess(): void {
    this.lastSuccessAt = this.now();
  }

  recordFailure(): void {
    this.lastFailureAt = this.now();
  }

  /** A storage failure of a real write, more recent than the last success and within the window. */
  failingRecently(): boolean {
    return this.lastFailureAt > this.lastSuccessAt && this.now() - this.lastFailureAt < this.failureWindowMs;
  }

  /** `writer`, reporting each batch's outcome here (only storage failures count, not a bad update). */
  track(writer: BatchWriter, seam: DialectSeam): BatchWriter {
    return async (jobs, now) => {
      let results: WriteOutcome[];
      try {
        results = await writer(jobs, now);
      } catch (err) {
        if (seam.errors.isUnavailable(err)) this.recordFailure();
        throw err;
      }
      // Part of a batch may commit while another part fails (PostgreSQL writes it in two commits).
      const failure = results.find((r) => "failed" in r);
      // A storage failure wins over what committed beside it (a success in the same millisecond
      // would otherwise hide it).
      if (failure && "failed" in failure && seam.errors.isUnavailable(failure.failed)) this.recordFailure();
      else if (results.some((r) => !("failed" in r))) this.recordSuccess();
      return results;
    };
  }
}

const PROBE_EVERY_MS = 1_000;

export function registerReadiness(app: FastifyInstance, deps: { db: Db; seam: DialectSeam; logger: Logger; health: WriteHealth }): void {
  let last: { at: number; error: string | null } | null = null;
  let pending: Promise<string | null> | null = null;

  const probe = async (): Promise<string | null> => {
    try {
      const r = await deps.db.updateTable("health_probe").set({ checked_at: Date.now() }).where("id", "=", 1).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) await deps.db.insertInto("health_probe").values({ id: 1, checked_at: Date.now() }).execute();
      return null;
    } catch (err) {
      deps.logger.warn({ err }, "readiness: the write probe failed");
      return deps.seam.errors.isUnavailable(err) ? "storage cannot be written" : "the write probe failed";
    }
  };

  app.get("/readyz", async (_req, reply) => {
    if (!last || Date.now() - last.at >= PROBE_EVERY_MS) {
      // Concurrent calls share one probe.
      pending ??= probe().finally(() => {
        pending = null;
      });
      last = { at: Date.now(), error: await pending };
    }
    const error = last.error ?? (deps.health.failingRecently() ? "recent webhook writes failed" : null);
    if (error) {
      return sendError(reply, "STORAGE_UNAVAILABLE", `${ERRORS.STORAGE_UNAVAILABLE.message} (${error})`);
    }
    return { ok: true };
  });
}
