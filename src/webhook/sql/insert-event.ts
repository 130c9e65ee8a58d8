// An event, in the same transaction as the change it tells of (events/append.ts).
import { defineOp, rowParams, rowShape } from "../../db/prepared-op.ts";
import type { EventInsert } from "../rows.ts";

export const insertEvent = defineOp<EventInsert, number>({
  name: "insert_event",
  mode: "run",
  params: rowParams,
  shape: rowShape,
  build: (db, row) => db.insertInto("events").values(row),
});
