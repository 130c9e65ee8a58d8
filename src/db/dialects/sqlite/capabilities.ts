// SQLite: one process writes at a time, in one write transaction that excludes every other
// writer; every commit is an fsync.
import type { Capabilities } from "../../dialect.ts";

export const capabilities: Capabilities = {
  rowLocks: false,
  skipLocked: false,
  idsInCommitOrder: true,
  listenNotify: false,
  writeConcurrency: 1,
  // Every commit is an fsync: send outcomes that finish together share one.
  groupOutcomes: true,
};
