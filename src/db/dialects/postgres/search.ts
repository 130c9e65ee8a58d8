import { sql } from "kysely";
import type { TextSearch } from "../../dialect.ts";

// ILIKE folds Unicode case (LIKE would be case-sensitive).
export const search: TextSearch = { likeIgnoringCase: sql`ilike` };
