// SQLite (the embedded default): one file, WAL journal, FULL sync so a commit is on disk before
// the webhook answers 200. One process writes at a time; busy_timeout makes the CLI and the
// server wait for each other instead of failing. This file assembles the seam from its parts
// (one file per concern, the same files as ../postgres/).
import SqliteDatabase from "better-sqlite3";
import { Kysely } from "kysely";
import { ImmediateSqliteDialect } from "./driver.ts";
import { sqliteWebhookWriter } from "./webhook-writer.ts";
import fs from "node:fs";
import path from "node:path";
import type { Database } from "../../schema.ts";
import type { Db, DialectSeam } from "../../dialect.ts";
import { capabilities } from "./capabilities.ts";
import { columns } from "./columns.ts";
import { json } from "./json.ts";
import { search } from "./search.ts";
import { locks } from "./locks.ts";
import { taskIds } from "./task-ids.ts";
import { migrations } from "./migrations.ts";
import { outbox } from "./outbox-claim.ts";
import { errors } from "./errors.ts";

export function openSqlite(file: string): { db: Db; seam: DialectSeam; close: () => Promise<void> } {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const native = new SqliteDatabase(file);
  native.pragma("journal_mode = WAL");
  native.pragma("synchronous = FULL");
  native.pragma("busy_timeout = 5000");
  native.pragma("foreign_keys = ON");
  // A small page cache (better-sqlite3's build default is 16 MB). The webhook appends at the end
  // of its b-trees, so its working set is a few pages; misses are served by the OS page cache
  // (less resident memory, same throughput: bench/NOTES.md).
  native.pragma("cache_size = -4000");
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect(native) });
  // The webhook's writer runs prepared statements on this connection directly (webhook-writer.ts).
  return { db, seam: { ...sqliteSeam, webhookWriter: sqliteWebhookWriter(native) }, close: () => db.destroy() };
}

export const sqliteSeam: Omit<DialectSeam, "webhookWriter"> = {
  name: "sqlite",
  capabilities,
  columns,
  json,
  search,
  locks,
  taskIds,
  migrations,
  outbox,
  errors,
};
