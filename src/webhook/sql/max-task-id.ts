// The highest task id (SQLite hands out the next ones itself: one writer, inside its transaction).
import { sql } from "kysely";
import { defineOp } from "../../db/prepared-op.ts";

export const maxTaskId = defineOp<Record<string, never>, { m: number | string } | undefined>({
  name: "max_task_id",
  mode: "get",
  build: (db) => db.selectFrom("tasks").select(sql<number>`coalesce(max(id), 0)`.as("m")),
  params: () => [],
});
