import { sql } from "kysely";
import type { TextSearch } from "../../dialect.ts";

// LIKE already ignores case, though only for ASCII letters.
export const search: TextSearch = { likeIgnoringCase: sql`like` };
