// One SQL operation the webhook's writers run many times a second, compiled once. Kysely builds and
// compiles the statement the first time a shape (dialect, row lock, column list) is needed; after
// that only the values are bound to the same SQL text, so no query tree is built per update and
// SQLite's prepared statement for that text is reused. The SQL is still Kysely's.
//
// Each writer runs an op its own way (db/dialects/*/webhook-writer.ts): SQLite synchronously on the
// connection, inside one transaction; PostgreSQL through the transaction's connection.
import type { Compilable, Kysely, RawBuilder } from "kysely";
import type { Database } from "./schema.ts";

import type { RowLocks } from "./dialect.ts";

/** How a row read is locked: one of the seam's row locks (each dialect folder's locks.ts). */
export type RowLock = keyof RowLocks;

/** "run": changed row count; "get": the first row or undefined; "all": every row. */
export type OpMode = "run" | "get" | "all";

export interface OpSpec<Args> {
  name: string;
  mode: OpMode;
  /** The statement for `args` (its parameters must be `params(args)`, in that order). */
  build: (db: Kysely<Database>, args: Args, lock: RawBuilder<unknown> | null) => Compilable<unknown>;
  params: (args: Args) => unknown[];
  /** What makes the SQL text differ between calls besides the dialect (e.g. an insert's column list). */
  shape?: (args: Args) => string;
  lock?: RowLock;
}

/** `R`: what one call gives back (a changed count, a row, or rows). */
export class PreparedOp<Args, R> {
  /** Only a type: what a call gives back (the writers cast the driver's answer to it). */
  declare readonly result?: R;
  private readonly text = new Map<string, string>();
  constructor(readonly spec: OpSpec<Args>) {}

  /** The SQL and its parameters for `args` on `dialect`. */
  compile(db: Kysely<Database>, dialect: string, locks: RowLocks, args: Args): { sql: string; parameters: unknown[]; key: string } {
    const params = this.spec.params(args);
    for (let i = 0; i < params.length; i++) {
      // Kysely leaves an undefined value's column out: the SQL text would not fit these values.
      if (params[i] === undefined) throw new Error(`${this.spec.name}: parameter ${i} is undefined (use null)`);
    }
    const key = `${dialect}:${this.spec.name}:${this.spec.shape?.(args) ?? ""}`;
    let sql = this.text.get(key);
    if (sql === undefined) {
      const lock = this.spec.lock ? locks[this.spec.lock] : null;
      const compiled = this.spec.build(db, args, lock).compile();
      // The text is reused with values taken from params(): check once that Kysely bound them so.
      if (compiled.parameters.length !== params.length || compiled.parameters.some((p, i) => p !== params[i])) {
        throw new Error(`${this.spec.name}: the compiled parameters are not params(args)`);
      }
      sql = compiled.sql;
      this.text.set(key, sql);
    }
    return { sql, parameters: params, key };
  }
}

export function defineOp<Args, R>(spec: OpSpec<Args>): PreparedOp<Args, R> {
  return new PreparedOp<Args, R>(spec);
}

/** An insert of one row: its parameters are the row's values in key order. */
export function rowParams(row: Record<string, unknown>): unknown[] {
  return Object.values(row);
}
export function rowShape(row: Record<string, unknown>): string {
  return Object.keys(row).join(",");
}
