// JSON columns are jsonb; `->>` reads a key as text (a JSON true as 'true').
import { sql } from "kysely";
import type { JsonColumns } from "../../dialect.ts";
import { parseJsonColumn } from "../../json-column.ts";

export const json: JsonColumns = {
  parse: parseJsonColumn,
  flagIsTrue: (column, key) => sql<boolean>`(${sql.ref(column)} ->> ${key}) = 'true'`,
  flagIsTrueLiteral: (column, key) => `(${column} ->> '${key}') = 'true'`,
  text: (column, key) => sql<string | null>`(${sql.ref(column)} ->> ${key})`,
};
