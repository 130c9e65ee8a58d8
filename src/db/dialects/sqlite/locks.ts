import type { RowLocks } from "../../dialect.ts";

// None: the webhook's write transaction already excludes every other writer.
export const locks: RowLocks = { read: null, decide: null, update: null };
