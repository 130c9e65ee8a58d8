// The processed-update mark: what makes a redelivered or concurrently delivered update a no-op.
// A mark that exists for the same message is this update again (0 rows: a duplicate). One naming
// another message is not: update_id restarts at a random value after a week of silence, so that
// mark is taken over (1 row, like a new mark).
import { defineOp, rowParams, rowShape } from "../../db/prepared-op.ts";
import type { MarkRow } from "../rows.ts";

export const upsertMark = defineOp<MarkRow, number>({
  name: "upsert_mark",
  mode: "run",
  params: rowParams,
  shape: rowShape,
  build: (db, row) =>
    db
      .insertInto("processed_updates")
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(["plugin_id", "update_id"])
          .doUpdateSet((eb) => ({
            chat_id: eb.ref("excluded.chat_id"),
            message_id: eb.ref("excluded.message_id"),
            outcome: eb.ref("excluded.outcome"),
            received_at: eb.ref("excluded.received_at"),
          }))
          .where((eb) =>
            eb.or([
              eb("processed_updates.chat_id", "is distinct from", eb.ref("excluded.chat_id")),
              eb("processed_updates.message_id", "is distinct from", eb.ref("excluded.message_id")),
            ]),
          ),
      ),
});
