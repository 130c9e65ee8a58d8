// The seam between SQLite and PostgreSQL. Everything that differs between the two lives behind
// this interface, split by concern (capabilities, column types, JSON, locks, task ids,
// migrations, outbox claiming, error classification); the rest of the code is written once
// against Kysely. Each dialect implements it in a folder of the same shape (dialects/sqlite/,
// dialects/postgres/: one file per concern, index.ts assembling them).
import type { Kysely, Transaction, RawBuilder } from "kysely";
import type { Database, OutgoingRow } from "./schema.ts";
import type { Plan, PlanJob } from "../webhook/plan.ts";
import type { ApplyResult } from "../webhook/write-plans.ts";
import type { WriteContext } from "../webhook/steps.ts";
import type { ClaimWindow } from "./claim-sql.ts";

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

/**
 * What the two databases can and cannot do, as plain values. Code that behaves differently per
 * database asks for the behaviour it depends on here, never for the database's name, so each
 * branch says why it exists.
 */
export interface Capabilities {
  /**
   * Concurrent writers are kept apart by row locks (`select … for update`): PostgreSQL. SQLite has
   * no such clause and needs none: its write transaction already excludes every other writer.
   */
  readonly rowLocks: boolean;
  /**
   * Rows another transaction holds can be skipped rather than waited for (`for update skip
   * locked`): several claimers take different rows side by side. PostgreSQL only.
   */
  readonly skipLocked: boolean;
  /**
   * Auto-incremented ids become visible in the order they were handed out (SQLite: one writer). When
   * false (PostgreSQL: ids come from a sequence and commit out of order across instances), each event
   * records its writing transaction's id and the feed reads in (txid, id) order behind a horizon.
   */
  readonly idsInCommitOrder: boolean;
  /**
   * Other processes writing the same database can be woken with LISTEN/NOTIFY (PostgreSQL). SQLite
   * has one writing process, which wakes its own readers in memory.
   */
  readonly listenNotify: boolean;
  /** How many webhook transactions one process may write at once (group-commit batches in flight). */
  readonly writeConcurrency: number;
  /**
   * The outbox records the outcomes of sends that finish together in one transaction (true:
   * SQLite, one writer whose every commit is an fsync) or each in its own, side by side (false:
   * PostgreSQL, whose pool writes in parallel and where a shared transaction is a queue of round trips).
   */
  readonly groupOutcomes: boolean;
}

/** Column types for the migrations: the same schema is spelled differently by each database. */
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

/** JSON columns are text in SQLite and jsonb in PostgreSQL: reading them, and looking inside them in SQL. */
export interface JsonColumns {
  /** Turn what the driver returns for a JSON column into a value (the one place JSON columns are parsed). */
  parse(value: unknown): unknown;
  /** SQL for `json_column ->> key` compared as boolean true. */
  flagIsTrue(column: string, key: string): RawBuilder<boolean>;
  /**
   * The same test as literal SQL text, for a partial index's predicate: an index cannot take
   * parameters, and a query uses the index only when it repeats the predicate word for word.
   */
  flagIsTrueLiteral(column: string, key: string): string;
  /** SQL for the text stored under `key` of a JSON column (null when absent). */
  text(column: string, key: string): RawBuilder<string | null>;
}

/** The search box's substring match, which each database folds case for differently. */
export interface TextSearch {
  /**
   * The LIKE operator that ignores case: PostgreSQL's ILIKE folds Unicode; SQLite's LIKE already
   * ignores case, but for ASCII letters only.
   */
  readonly likeIgnoringCase: RawBuilder<unknown>;
}

/**
 * Locks taken on a plugin row by the webhook, so that an unlink or a change of its linking
 * counters in another instance is decided on, not raced. null where the database needs none
 * (SQLite: its write transaction already excludes every other writer).
 */
export interface RowLocks {
  /**
   * Appended to the webhook transaction's read of a plugin row (PostgreSQL: `for key share`, so
   * it waits for an unlink in progress and decides on its result).
   */
  readonly read: RawBuilder<unknown> | null;
  /**
   * Appended to the read of a plugin row before deciding an update that may change its linking
   * counters (a `/start` guess, a warning to a stranger). PostgreSQL: `for no key update`, so
   * concurrent instances decide one after the other on the committed counters (it does not wait
   * for, nor block, the one-statement run's `for key share`).
   */
  readonly decide: RawBuilder<unknown> | null;
  /** Appended to the read of a task a chat command or an edit is about to change (PostgreSQL: `for update`). */
  readonly update: RawBuilder<unknown> | null;
}

/** Task codes are derived from task ids, so ids are handed out before the tasks are written. */
export interface TaskIds {
  /**
   * Reserve `n` fresh task ids. SQLite reads them inside the write transaction; PostgreSQL hands
   * them out of a block it takes from its sequence.
   */
  next(trx: Tx, n: number): Promise<number[]>;
}

/** What the migrations cannot write once for both databases (migrations.ts runs them). */
export interface MigrationSupport {
  /** Run `fn` (the migrations) while holding a lock that other instances starting at once wait for. */
  withLock(db: Db, fn: (conn: Db) => Promise<void>): Promise<void>;
  /**
   * Migration 0002: tasks.codigo loses its UNIQUE constraint (PostgreSQL drops it; SQLite, which
   * cannot drop a constraint, rebuilds the table). Must be safe to run again.
   */
  // biome-ignore lint/suspicious/noExplicitAny: called from a migration, which sees the schema of its day, not today's Database
  dropTaskCodigoUnique(db: Kysely<any>): Promise<void>;
  /** Extra DDL after the tables exist (e.g. PostgreSQL's task id sequence). */
  after?(db: Db): Promise<void>;
}

/** The outbox's job claiming, whose locking differs (the candidate query is shared: claim-sql.ts). */
export interface OutboxClaims {
  /**
   * Claim up to `limit` outgoing messages that are due, among a window of open messages (see
   * claim-sql.ts): at most one per chat, only the oldest open message of each chat (keeps
   * per-chat order), skipping chats paced into the future. Claimed rows are set to
   * status=sending with a lease until `now + leaseMs`. `nextAfterId` is where the next window
   * starts (0 once the window reached the end).
   */
  claim(db: Db, w: ClaimWindow, leaseMs: number): Promise<{ rows: OutgoingRow[]; nextAfterId: number }>;
  /** Called once when a worker starts: SQLite (one worker process) releases every stale claim at once. */
  recoverClaims(db: Db): Promise<number>;
}

/** Errors the callers must tell apart (a 503 against a bug; a duplicate against a failure), by each driver's codes. */
export interface ErrorClassifier {
  /** True when an error means "the database is unavailable / busy" rather than a bug. */
  isUnavailable(err: unknown): boolean;
  /** True for a unique-constraint violation. */
  isUniqueViolation(err: unknown): boolean;
}

/** Everything that differs between the two databases, grouped by concern (each dialect folder has one file per part). */
export interface DialectSeam {
  /** For logs, labels and error messages only: behaviour is chosen by `capabilities`. */
  readonly name: "sqlite" | "postgres";
  readonly capabilities: Capabilities;
  readonly columns: ColumnTypes;
  readonly json: JsonColumns;
  readonly search: TextSearch;
  readonly locks: RowLocks;
  readonly taskIds: TaskIds;
  readonly migrations: MigrationSupport;
  readonly outbox: OutboxClaims;
  readonly errors: ErrorClassifier;
  /** Writes the webhook's batches of plans (webhook/write-plans.ts): one writer per dialect. */
  readonly webhookWriter: WebhookWriter;
}

/** A committed update's result, or why it was not written (the committer retries it on its own). */
export type WriteOutcome = ApplyResult | { failed: unknown };

/**
 * Writes a batch of plans made by webhook/plan.ts for `jobs`, checking that the state each plan
 * rests on still holds and deciding again what does not. Returns an outcome for every job, by
 * its batch index (or throws when nothing was committed).
 */
export interface WebhookWriter {
  write(db: Db, jobs: readonly PlanJob[], plans: readonly Plan[], ctx: WriteContext): Promise<Map<number, WriteOutcome>>;
}
