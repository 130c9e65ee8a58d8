import { sql } from "kysely";
import type { PluginLocks } from "../../dialect.ts";

export const locks: PluginLocks = {
  // Waits for an unlink in progress, so the webhook decides on its result.
  read: sql`for key share`,
  // Concurrent deciders queue on the counters; neither waits for nor blocks `for key share`.
  decide: sql`for no key update`,
};
