// The webhook's inserts, compiled once. Kysely builds and compiles a statement for each shape
// (table, conflict clause, number of rows) the first time it is needed; after that the new rows'
// values are bound to the same SQL text. No query tree is built per batch, and SQLite's prepared
// statement for that text is reused instead of being compiled again.
//
// Rows are written `seam.capabilities.rowsPerInsert` at a time: one row per statement on SQLite (in-process, a
// statement costs no round trip, and three fixed statements stay prepared), many on PostgreSQL
// (each statement is a round trip).
import { CompiledQuery, type Compilable } from "kysely";
import type { DialectSeam, Tx } from "./dialect.ts";

/** Most shapes remembered per statement (one per dialect and row count; PostgreSQL sees up to a batch's size). */
const MAX_SHAPES = 600;

export class InsertStatement<Row extends Record<string, unknown>, Out = unknown> {
  /** SQL text by dialect, row count and column list: one process may hold both dialects (tests). */
  private readonly sqlByShape = new Map<string, string>();

  /** `build` must produce an insert of exactly `rows`, with no other parameters. */
  constructor(private readonly build: (trx: Tx, rows: Row[]) => Compilable<Out>) {}

  /** Insert `rows` (all with the same keys, in the same order); returns what RETURNING gave. */
  async run(trx: Tx, seam: DialectSeam, rows: Row[]): Promise<Out[]> {
    const per = seam.capabilities.rowsPerInsert;
    if (rows.length <= per) return this.runChunk(trx, seam, rows);
    const out: Out[] = [];
    for (let i = 0; i < rows.length; i += per) {
      for (const r of await this.runChunk(trx, seam, rows.slice(i, i + per))) out.push(r);
    }
    return out;
  }

  private async runChunk(trx: Tx, seam: DialectSeam, rows: Row[]): Promise<Out[]> {
    if (rows.length === 0) return [];
    const keys = Object.keys(rows[0]!).join(",");
    const params: unknown[] = [];
    for (const row of rows) {
      // Every row must have the first row's columns, in its order: the SQL is per column list.
      if (Object.keys(row).join(",") !== keys) throw new Error("InsertStatement: rows must have the same keys in the same order");
      for (const v of Object.values(row)) {
        // Kysely leaves an undefined value's column out: the SQL text would not fit these values.
        if (v === undefined) throw new Error("InsertStatement: row values must not be undefined (use null)");
        params.push(v);
      }
    }
    const shape = `${seam.name}:${rows.length}:${keys}`;
    let text = this.sqlByShape.get(shape);
    if (text === undefined) {
      const compiled = this.build(trx, rows).compile();
      // The SQL is reused with values taken in key order: check once that Kysely bound them so.
      if (compiled.parameters.length !== params.length || compiled.parameters.some((p, i) => p !== params[i])) {
        throw new Error("InsertStatement: the compiled parameters are not the rows' values in key order");
      }
      text = compiled.sql;
      if (this.sqlByShape.size < MAX_SHAPES) this.sqlByShape.set(shape, text);
    }
    return (await trx.executeQuery<Out>(CompiledQuery.raw(text, params))).rows;
  }
}
