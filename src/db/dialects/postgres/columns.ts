import { sql } from "kysely";
import type { ColumnTypes } from "../../dialect.ts";

export const columns: ColumnTypes = { autoId: sql`bigserial`, json: sql`jsonb`, boolean: sql`boolean`, assignedId: sql`bigint`, keyedTableSuffix: sql`` };
