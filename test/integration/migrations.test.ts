// Migration 0002 on a database that already holds tasks (written under 0001): the tasks and
// their codes are kept, one task per message is still enforced, and the code is no longer
// indexed (see migrations.ts); a task is still found by its code, through the primary key.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Migrator, sql } from "kysely";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { openStore, type Store } from "../../src/db/connect.ts";
import { migrate, migrationsFor } from "../../src/db/migrations.ts";
import { taskCodigo, taskIdFromCodigo } from "../../src/tasks/codigo.ts";

const now = new Date(0).toISOString();
const task = (id: number, messageId: number) => ({
  id, codigo: taskCodigo(id), usuario_id: 1, plugin_id: 1, tipo: "telegram", titulo: `nota ${id}`, estado: "queued",
  chat_id: 555, message_id: messageId, metadatos_extra: JSON.stringify({ texto_original: `nota ${id}` }), created_at: now,
});

for (const target of dbTargets()) {
  describe(`migrations (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      const { db, seam } = store;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrationsFor(seam) } });
      const r = await migrator.migrateTo("0001_initial");
      assert.equal(r.error, undefined);
      await db.insertInto("users").values({ id: 1, username: "ana", created_at: now }).execute();
      await db.insertInto("plugin_configs").values({
        id: 1, usuario_id: 1, servicio: "telegram", identificador: "@ana_bot", metadatos: "{}", token_cifrado: "x",
        codigo_verificacion: "JOE-AAAA", verificado: seam.name === "postgres" ? (true as never) : 1, chat_id_verificado: 555, created_at: now, updated_at: now,
      }).execute();
      await db.insertInto("tasks").values([task(1, 10), task(2, 11), task(3, 12)]).execute();
      await migrate(db, seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    it("keeps every task and its code", async () => {
      const rows = await store.db.selectFrom("tasks").select(["id", "codigo", "titulo", "message_id"]).orderBy("id").execute();
      assert.deepEqual(rows.map((r) => [Number(r.id), r.codigo, r.titulo, Number(r.message_id)]),
        [[1, taskCodigo(1), "nota 1", 10], [2, taskCodigo(2), "nota 2", 11], [3, taskCodigo(3), "nota 3", 12]]);
    });

    it("still refuses a second task for the same message", async () => {
      await assert.rejects(store.db.insertInto("tasks").values(task(4, 11)).execute(), (err) => store.seam.errors.isUniqueViolation(err));
    });

    it("no longer indexes the code; a code still leads to its task through the primary key", async () => {
      const indexed = store.seam.name === "sqlite"
        ? (await sql<{ n: number }>`select count(*) as n from pragma_index_list('tasks') l join pragma_index_info(l.name) i where i.name = 'codigo'`.execute(store.db)).rows[0]!.n
        : (await sql<{ n: number }>`select count(*) as n from pg_indexes where tablename = 'tasks' and indexdef like '%(codigo)%'`.execute(store.db)).rows[0]!.n;
      assert.equal(Number(indexed), 0);
      const found = await store.db.selectFrom("tasks").select("titulo").where("id", "=", taskIdFromCodigo(taskCodigo(2))!).executeTakeFirst();
      assert.equal(found?.titulo, "nota 2");
    });

    it("running the migrations again changes nothing", async () => {
      await migrate(store.db, store.seam);
      assert.equal(Number((await store.db.selectFrom("tasks").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n), 3);
    });
  });
}
