// The webhook's compiled-once inserts (src/db/insert-statement.ts) on a real database: the SQL
// Kysely compiled for one batch is reused for the next with the new rows' values, each dialect
// keeps its own SQL even in one process, and a row it cannot bind is refused before anything runs.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { openStore, type Store } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";
import { InsertStatement } from "../../src/db/insert-statement.ts";

type Mark = { plugin_id: number; update_id: number; chat_id: number | null; message_id: number | null; outcome: string; received_at: number };
const MARKS = new InsertStatement((trx, rows: Mark[]) => trx.insertInto("processed_updates").values(rows)
  .onConflict((oc) => oc.columns(["plugin_id", "update_id"]).doNothing())
  .returning(["update_id"]));
const mark = (updateId: number, outcome = "task"): Mark =>
  ({ plugin_id: 1, update_id: updateId, chat_id: 10 + updateId, message_id: 100 + updateId, outcome, received_at: 1_000 + updateId });

for (const target of dbTargets()) {
  describe(`InsertStatement (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      await migrate(store.db, store.seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });
    const rows = async () => (await store.db.selectFrom("processed_updates").selectAll().orderBy("update_id").execute())
      .map((r) => ({ ...r, plugin_id: Number(r.plugin_id), update_id: Number(r.update_id), chat_id: Number(r.chat_id), message_id: Number(r.message_id), received_at: Number(r.received_at) }));

    it("batches of different sizes, and the same size again with other values, are written as given", async () => {
      const batches = [[mark(1), mark(2), mark(3)], [mark(4)], [mark(5), mark(6), mark(7)], [mark(8, "ignored:service"), mark(9)]];
      for (const b of batches) {
        const returned = await store.db.transaction().execute((trx) => MARKS.run(trx, store.seam, b));
        assert.deepEqual(returned.map((r) => Number(r.update_id)), b.map((m) => m.update_id));
      }
      assert.deepEqual(await rows(), batches.flat());
    });

    it("RETURNING leaves out the rows the conflict clause skipped", async () => {
      const returned = await store.db.transaction().execute((trx) => MARKS.run(trx, store.seam, [mark(2, "again"), mark(10), mark(3, "again")]));
      assert.deepEqual(returned.map((r) => Number(r.update_id)), [10]);
      assert.equal((await rows()).find((r) => r.update_id === 2)?.outcome, "task", "the existing mark is untouched");
    });

    it("a row with an undefined value is refused with a clear error, and the transaction writes nothing", async () => {
      const before = (await rows()).length;
      const bad = { ...mark(11), chat_id: undefined } as unknown as Mark;
      await assert.rejects(
        store.db.transaction().execute((trx) => MARKS.run(trx, store.seam, [mark(12), bad])),
        /must not be undefined/,
      );
      assert.equal((await rows()).length, before);
    });
  });
}
