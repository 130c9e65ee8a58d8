// A Kysely driver for better-sqlite3, in place of Kysely's own SqliteDriver for two reasons:
//  1. Transactions start with BEGIN IMMEDIATE. A plain BEGIN that reads and then writes fails at
//     once with SQLITE_BUSY when another process (the CLI, a worker) holds the write lock —
//     SQLite does not call the busy handler in that case. IMMEDIATE takes the write lock up front,
//     so busy_timeout applies and the two processes wait for each other instead.
//  2. Prepared statements are cached by SQL text: the webhook's few statements are prepared once,
//     not on every update (Kysely's driver prepares each query anew).
import type Sqlite from "better-sqlite3";
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult } from "kysely";

const STATEMENT_CACHE_SIZE = 48;

class CachingConnection implements DatabaseConnection {
  private statements = new Map<string, Sqlite.Statement>();
  constructor(private readonly db: Sqlite.Database) {}

  private prepare(sql: string): Sqlite.Statement {
    let stmt = this.statements.get(sql);
    if (stmt) {
      // Least recently used first: a hit moves to the end.
      this.statements.delete(sql);
    } else {
      stmt = this.db.prepare(sql);
      // Multi-row inserts come in one variant per batch size, each a large compiled program:
      // keep only the statements in use lately, or the cache alone grows by tens of MB.
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, stmt);
    return stmt;
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(q.sql);
    const params = q.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    for (const row of this.prepare(q.sql).iterate(q.parameters as unknown[])) yield { rows: [row as R] };
  }
}

/** SQLite has one connection: callers queue for it, in order. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private release: (() => void) | null = null;
  async lock(): Promise<void> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise((r) => (release = r));
    await prev;
    this.release = release;
  }
  unlock(): void {
    const r = this.release;
    this.release = null;
    r?.();
  }
}

class ImmediateSqliteDriver implements Driver {
  private readonly mutex = new Mutex();
  private readonly connection: CachingConnection;
  constructor(private readonly db: Sqlite.Database) {
    this.connection = new CachingConnection(db);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection;
  }
  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("begin immediate"));
  }
  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    // After some errors SQLite has already rolled back; a second rollback would throw.
    if (this.db.inTransaction) await c.executeQuery(CompiledQuery.raw("rollback"));
  }
  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }
  async destroy(): Promise<void> {
    this.db.close();
  }
}

/** Kysely's SQLite dialect (query compiler, adapter, introspector) with the driver above. */
export class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly native: Sqlite.Database) {
    super({ database: native });
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.native);
  }
}
