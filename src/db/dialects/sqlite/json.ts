// JSON columns are text; json_extract looks inside them (a JSON true comes back as 1).
import { sql } from "kysely";
import type { JsonColumns } from "../../dialect.ts";
import { parseJsonColumn } from "../../json-column.ts";

export const json: JsonColumns = {
  parse: parseJsonColumn,
  flagIsTrue: (column, key) => sql<boolean>`json_extract(${sql.ref(column)}, ${"$." + key}) = 1`,
  flagIsTrueLiteral: (column, key) => `json_extract(${column}, '$.${key}') = 1`,
  text: (column, key) => sql<string | null>`json_extract(${sql.ref(column)}, ${"$." + key})`,
};
