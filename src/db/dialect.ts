// The seam between SQLite and PostgreSQL. Everything that differs between the two lives behind
// this interface (column types, JSON, id allocation, job claiming, error classification); the
// rest of the code is written once against Kysely.
import type { Kysely, Transaction, RawBuilder } from "kysely";
import type { Insertable } from "kysely";
import type { Database, OutgoingRow, TasksTable, OutgoingMessagesTable } from "./schema.ts";
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
  /** Rows per INSERT statement in the webhook's bulk writes (see insert-statement.ts). */
  readonly rowsPerInsert: number;
  /** Turn what the driver returns for a JSON column into a value. */
  parseJson(value: unknown): unknown;
  /** SQL for `json_column ->> key` compared as boolean true. */
  jsonFlagIsTrue(column: string, key: string): RawBuilder<boolean>;
  /**
   * Reserve `n` fresh task ids (task codes are derived from ids). SQLite reads them inside the
   * write transaction; PostgreSQL hands them out of a block it takes from its sequence.
   */
  nextTaskIds(trx: Tx, n: number): Promise<number[]>;
  /**
   * Optional: write a run of messages from linked chats, decided on the webhook's cached plugin
   * state, in one atomic step that checks the state still holds (PostgreSQL: one statement, one
   * round trip instead of seven; SQLite: prepared statements in one synchronous transaction).
   */
  readonly linkedRun?: LinkedRunWriter;
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

/** One update of a linked run, decided on the plugin state the webhook had cached. */
export interface LinkedRunRow {
  pluginId: number;
  updateId: number;
  /** null for updates that are not messages (only marked). */
  chatId: number | null;
  messageId: number | null;
  outcome: string;
  task: Insertable<TasksTable> | null;
  /** The reply (a confirmation names `task`'s id); written only if the mark, and the task if any, are new. */
  reply: Insertable<OutgoingMessagesTable> | null;
}

/** What the statement did with one row. */
export interface LinkedRunOutcome {
  /** The plugin still exists and (for a message) its linked chat is still this chat. */
  stateHeld: boolean;
  /** The processed-update mark was new, or taken over from another message (false: a duplicate). */
  marked: boolean;
  /** The task was written (false: this message already has its task). */
  taskInserted: boolean;
}

/**
 * Writes the marks, tasks and replies of a run atomically (PostgreSQL: one statement; SQLite: one
 * transaction run synchronously on the connection). For each row it checks that the state the
 * row was decided on still holds; rows where it does not are left alone for the transactional
 * path to decide again. A mark that exists for the same message means a duplicate; one for
 * another message (update_id reused by Telegram) is taken over, as apply.ts's takeOverMark does.
 */
export interface LinkedRunWriter {
  /**
   * `build` is given `taskCount` fresh task ids and returns the rows (a task's code, and so its
   * confirmation's text, is derived from its id).
   */
  write(db: Db, taskCount: number, build: (taskIds: number[]) => LinkedRunRow[], now: number): Promise<{ rows: LinkedRunRow[]; outcomes: LinkedRunOutcome[] }>;
}
