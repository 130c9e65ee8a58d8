// A message's task. Its key (plugin, chat, message) keeps one task per message: the same message
// under another update_id writes nothing (0 rows).
import { defineOp, rowParams, rowShape } from "../../db/prepared-op.ts";
import type { TaskInsert } from "../rows.ts";

export const insertTask = defineOp<TaskInsert, number>({
  name: "insert_task",
  mode: "run",
  params: rowParams,
  shape: rowShape,
  build: (db, row) =>
    db
      .insertInto("tasks")
      .values(row)
      .onConflict((oc) => oc.columns(["plugin_id", "chat_id", "message_id"]).doNothing()),
});
