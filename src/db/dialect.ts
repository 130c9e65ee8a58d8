// The seam between SQLite and PostgreSQL. Everything that differs between the two lives behind
// this interface (column types, JSON, id allocation, job claiming, error classification); the
// rest of the code is written once against Kysely.
import type { Kysely, Transaction, RawBuilder } from "kysely";
import type { Database, OutgoingRow } from "./schema.ts";
import type { Plan, PlanJob } from "../webhook/plan.ts";
import type { ApplyResult } from "../webhook/write-plans.ts";
import type { WriteContext } from "../webhook/steps.ts";
import type { ClaimWindow } from "./claim-sql.ts";

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface ColumnTypes {
  /** Auto-incrementing 64-bit primary key. */
  autoId: RawBuilder<unknown>;
  /** JSON document column. */
  json: RawBuilder<unknown>;
  boolean: RawBuilder<unknown>;
  /** A 64-bit primary key whose values the application assigns (task ids). */
  assignedId: RawBuilder<unknown>;
  /** Appended to tables keyed by a composite primary key (SQLite: stored in key order, no rowid). */
  keyedTableSuffix: RawBuilder<unknown>;
}

export interface DialectSeam {
  readonly name: "sqlite" | "postgres";
  readonly types: ColumnTypes;
  /** How many webhook transactions one process may write at once (group-commit batches in flight). */
  readonly writeConcurrency: number;
  /**
   * The outbox records the outcomes of sends that finish together in one transaction (true:
   * SQLite, one writer whose every commit is an fsync) or each in its own, side by side (false:
   * PostgreSQL, whose pool writes in parallel and where a shared transaction is a queue of round trips).
   */
  readonly groupOutcomes: boolean;
  /**
   * Appended to the webhook transaction's read of a plugin row (PostgreSQL: `for key share`, so
   * it waits for an unlink in progress and decides on its result; SQLite: nothing, its write
   * transaction already excludes every other writer).
   */
  readonly pluginReadLock: RawBuilder<unknown> | null;
  /**
   * Appended to the read of a plugin row before deciding an update that may change its linking
   * counters (a `/start` guess, a warning to a stranger). PostgreSQL: `for no key update`, so
   * concurrent instances decide one after the other on the committed counters (it does not wait
   * for, nor block, the fast path's `for key share`). SQLite: nothing (one writer).
   */
  readonly pluginDecideLock: RawBuilder<unknown> | null;
  /** Turn what the driver returns for a JSON column into a value. */
  parseJson(value: unknown): unknown;
  /** SQL for `json_column ->> key` compared as boolean true. */
  jsonFlagIsTrue(column: string, key: string): RawBuilder<boolean>;
  /**
   * Reserve `n` fresh task ids (task codes are derived from ids). SQLite reads them inside the
   * write transaction; PostgreSQL hands them out of a block it takes from its sequence.
   */
  nextTaskIds(trx: Tx, n: number): Promise<number[]>;
  /** Writes the webhook's batches of plans (webhook/write-plans.ts): one writer per dialect. */
  readonly webhookWriter: WebhookWriter;
  /** Run `fn` (the migrations) while holding a lock that other instances starting at once wait for. */
  withMigrationLock(db: Db, fn: (conn: Db) => Promise<void>): Promise<void>;
  /**
   * Migration 0002: tasks.codigo loses its UNIQUE constraint (PostgreSQL drops it; SQLite, which
   * cannot drop a constraint, rebuilds the table). Must be safe to run again.
   */
  // biome-ignore lint/suspicious/noExplicitAny: called from a migration, which sees the schema of its day, not today's Database
  dropTaskCodigoUnique(db: Kysely<any>): Promise<void>;
  /** Extra DDL after the tables exist (e.g. PostgreSQL's task id sequence). */
  afterMigrate?(db: Db): Promise<void>;
  /**
   * Claim up to `limit` outgoing messages that are due, among a window of open messages (see
   * claim-sql.ts): at most one per chat, only the oldest open message of each chat (keeps
   * per-chat order), skipping chats paced into the future. Claimed rows are set to
   * status=sending with a lease until `now + leaseMs`. `nextAfterId` is where the next window
   * starts (0 once the window reached the end).
   */
  claimOutgoing(db: Db, w: ClaimWindow, leaseMs: number): Promise<{ rows: OutgoingRow[]; nextAfterId: number }>;
  /** Called once when a worker starts: SQLite (one worker process) releases every stale claim at once. */
  recoverClaims(db: Db): Promise<number>;
  /** True when an error means "the database is unavailable / busy" rather than a bug. */
  isUnavailable(err: unknown): boolean;
  /** True for a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean;
}

/** A committed update's result, or why it was not written (the committer retries it on its own). */
export type WriteOutcome = ApplyResult | { failed: unknown };

/**
 * Writes a batch of plans made by webhook/plan.ts for `jobs`, atomically per commit, checking
 * that the state each plan rests on still holds and deciding again what does not. Returns an
 * outcome for every job, by its batch index (or throws when nothing was committed).
 */
export interface WebhookWriter {
  write(db: Db, jobs: readonly PlanJob[], plans: readonly Plan[], ctx: WriteContext): Promise<Map<number, WriteOutcome>>;
}
