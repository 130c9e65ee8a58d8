import { sql } from "kysely";
import type { TaskIds, Tx } from "../../dialect.ts";

export const taskIds: TaskIds = {
  async next(trx: Tx, n: number) {
    // Safe because SQLite has one writer: nobody else can insert between this read and our insert.
    const row = await trx.selectFrom("tasks").select(sql<number>`coalesce(max(id), 0)`.as("m")).executeTakeFirstOrThrow();
    return Array.from({ length: n }, (_, i) => Number(row.m) + 1 + i);
  },
};
