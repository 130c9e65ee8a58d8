// PostgreSQL: many web instances and workers share one server. This file assembles the seam
// from its parts (one file per concern, the same files as ../sqlite/).
import type { Db, DialectSeam } from "../../dialect.ts";
import { postgresWebhookWriter } from "./webhook-writer.ts";
import { connectPostgres } from "./driver.ts";
import { capabilities } from "./capabilities.ts";
import { columns } from "./columns.ts";
import { json } from "./json.ts";
import { search } from "./search.ts";
import { locks } from "./locks.ts";
import { createTaskIds } from "./task-ids.ts";
import { migrations } from "./migrations.ts";
import { outbox } from "./outbox-claim.ts";
import { errors } from "./errors.ts";

export function openPostgres(url: string, poolSize = 10): { db: Db; seam: DialectSeam; close: () => Promise<void> } {
  const db = connectPostgres(url, poolSize);
  return { db, seam: createPostgresSeam(), close: () => db.destroy() };
}

/** One per opened database: its task ids hold that database's block of ids. */
export function createPostgresSeam(): DialectSeam {
  const taskIds = createTaskIds();
  return {
    name: "postgres",
    capabilities,
    columns,
    json,
    search,
    locks,
    taskIds,
    migrations,
    outbox,
    errors,
    webhookWriter: postgresWebhookWriter(taskIds),
  };
}
