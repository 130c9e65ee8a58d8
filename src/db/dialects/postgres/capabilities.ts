// PostgreSQL: many web instances and workers share one server, kept apart by row locks; ids come
// from sequences and may commit out of order.
import type { Capabilities } from "../../dialect.ts";

export const capabilities: Capabilities = {
  rowLocks: true,
  skipLocked: true,
  idsInCommitOrder: false,
  listenNotify: true,
  // One batch at a time per instance: while it is written the next one fills up, so a batch
  // carries more updates per round trip (measured against 2 and 4 in flight: bench/NOTES.md).
  writeConcurrency: 1,
  // The pool records send outcomes side by side.
  groupOutcomes: false,
};
