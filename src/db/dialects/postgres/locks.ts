import { sql } from "kysely";
import type { RowLocks } from "../../dialect.ts";

export const locks: RowLocks = {
  // Waits for an unlink in progress, so the webhook decides on its result.
  read: sql`for key share`,
  // Concurrent deciders queue on the counters; neither waits for nor blocks `for key share`.
  decide: sql`for no key update`,
  // A task a chat command or an edit changes: held until the change is written.
  update: sql`for update`,
};
