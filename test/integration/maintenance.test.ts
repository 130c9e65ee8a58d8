// Housekeeping: old processed-update marks are pruned (Telegram redelivers for a day at most and
// restarts update_id only after a week of silence), recent ones are kept.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { openStore } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";
import { pruneProcessedUpdates, KEEP_MARKS_MS } from "../../src/outbox/maintenance.ts";

for (const target of dbTargets()) {
  describe(`maintenance (${target.name})`, () => {
    it("prunes marks older than the keep period and keeps the rest", async () => {
      const database = await target.create();
      const store = await openStore(database.url);
      try {
        await migrate(store.db, store.seam);
        const now = Date.now();
        const mark = (update_id: number, received_at: number) => ({ plugin_id: 1, update_id, chat_id: 5, message_id: update_id, outcome: "task", received_at });
        await store.db
          .insertInto("processed_updates")
          .values([mark(1, now - KEEP_MARKS_MS - 60_000), mark(2, now - KEEP_MARKS_MS + 60_000), mark(3, now)])
          .execute();
        assert.equal(await pruneProcessedUpdates(store.db, now), 1);
        const left = (await store.db.selectFrom("processed_updates").select("update_id").orderBy("update_id").execute()).map((r) => Number(r.update_id));
        assert.deepEqual(left, [2, 3]);
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
}
