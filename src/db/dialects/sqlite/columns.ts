import { sql } from "kysely";
import type { ColumnTypes } from "../../dialect.ts";

// "integer primary key" is the rowid itself in SQLite: one b-tree fewer per table.
export const columns: ColumnTypes = {
  autoId: sql`integer`,
  json: sql`text`,
  boolean: sql`integer`,
  assignedId: sql`integer`,
  keyedTableSuffix: sql`without rowid`,
};
