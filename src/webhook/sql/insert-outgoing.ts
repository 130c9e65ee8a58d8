// A reply for the outbox to send (outbox/sender.ts).
import { defineOp, rowParams, rowShape } from "../../db/prepared-op.ts";
import type { OutgoingInsert } from "../rows.ts";

export const insertOutgoing = defineOp<OutgoingInsert, number>({
  name: "insert_outgoing",
  mode: "run",
  params: rowParams,
  shape: rowShape,
  build: (db, row) => db.insertInto("outgoing_messages").values(row),
});
