// Migration 0002 on a database that already holds tasks (written under 0001): the tasks and
// their codes are kept, one task per message is still enforced, and the code is no longer
// indexed (see migrations.ts); a task is still found by its code, through the primary key.
// 0002 must be safe to run again (two instances may migrate at once): it is run twice directly,
// right after 0001 and on a database at the latest version, and must change nothing the second time.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Migrator, sql } from "kysely";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { openStore, type Store } from "../../src/db/connect.ts";
import { migrate, migrationsFor } from "../../src/db/migrations.ts";
import { dumpSchema } from "../../src/db/schema-dump.ts";
import { migratedSchema } from "../support/schema-snapshot.ts";
import { taskCodigo, taskIdFromCodigo } from "../../src/tasks/codigo.ts";

const now = new Date(0).toISOString();
const task = (id: number, messageId: number) => ({
  id,
  codigo: taskCodigo(id),
  usuario_id: 1,
  plugin_id: 1,
  tipo: "telegram",
  titulo: `nota ${id}`,
  estado: "queued",
  chat_id: 555,
  message_id: messageId,
  metadatos_extra: JSON.stringify({ texto_original: `nota ${id}` }),
  created_at: now,
});

const MIGRATION_0002 = "0002_tasks_codigo_not_indexed";

/** A database at 0001 holding a user, a linked plugin and three tasks. */
async function atInitialWithTasks(store: Store): Promise<void> {
  const { db, seam } = store;
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrationsFor(seam) } });
  const r = await migrator.migrateTo("0001_initial");
  assert.equal(r.error, undefined);
  await db.insertInto("users").values({ id: 1, username: "ana", created_at: now }).execute();
  await db
    .insertInto("plugin_configs")
    .values({
      id: 1,
      usuario_id: 1,
      servicio: "telegram",
      identificador: "@ana_bot",
      metadatos: "{}",
      token_cifrado: "x",
      codigo_verificacion: "JOE-AAAA",
      verificado: seam.name === "postgres" ? (true as never) : 1,
      chat_id_verificado: 555,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto("tasks")
    .values([task(1, 10), task(2, 11), task(3, 12)])
    .execute();
}

/** Migration 0002's own `up`, run directly (not through the Migrator, which would skip it). */
async function run0002(store: Store): Promise<void> {
  await migrationsFor(store.seam)[MIGRATION_0002]!.up(store.db);
}

/** The schema and every task, whole: what a second run of 0002 must leave as it was. */
async function schemaAndTasks(store: Store): Promise<{ schema: string; tasks: unknown[] }> {
  const tasks = await store.db.selectFrom("tasks").selectAll().orderBy("id").execute();
  return { schema: await dumpSchema(store.db, store.seam.name), tasks };
}

for (const target of dbTargets()) {
  describe(`migrations (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      await atInitialWithTasks(store);
      await migrate(store.db, store.seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    it("keeps every task and its code", async () => {
      const rows = await store.db.selectFrom("tasks").select(["id", "codigo", "titulo", "message_id"]).orderBy("id").execute();
      assert.deepEqual(
        rows.map((r) => [Number(r.id), r.codigo, r.titulo, Number(r.message_id)]),
        [
          [1, taskCodigo(1), "nota 1", 10],
          [2, taskCodigo(2), "nota 2", 11],
          [3, taskCodigo(3), "nota 3", 12],
        ],
      );
    });

    it("still refuses a second task for the same message", async () => {
      await assert.rejects(store.db.insertInto("tasks").values(task(4, 11)).execute(), (err) => store.seam.errors.isUniqueViolation(err));
    });

    it("no longer indexes the code; a code still leads to its task through the primary key", async () => {
      const indexed =
        store.seam.name === "sqlite"
          ? (
              await sql<{ n: number }>`select count(*) as n from pragma_index_list('tasks') l join pragma_index_info(l.name) i where i.name = 'codigo'`.execute(
                store.db,
              )
            ).rows[0]!.n
          : (await sql<{ n: number }>`select count(*) as n from pg_indexes where tablename = 'tasks' and indexdef like '%(codigo)%'`.execute(store.db)).rows[0]!
              .n;
      assert.equal(Number(indexed), 0);
      const found = await store.db
        .selectFrom("tasks")
        .select("titulo")
        .where("id", "=", taskIdFromCodigo(taskCodigo(2))!)
        .executeTakeFirst();
      assert.equal(found?.titulo, "nota 2");
    });

    it("running the migrations again changes nothing", async () => {
      const before = await schemaAndTasks(store);
      await migrate(store.db, store.seam);
      assert.deepEqual(await schemaAndTasks(store), before);
    });

    it("0002 run again, directly, on a database at the latest version changes nothing", async () => {
      const before = await schemaAndTasks(store);
      assert.equal(before.tasks.length, 3);
      await run0002(store);
      assert.deepEqual(await schemaAndTasks(store), before, "after running 0002 again");
      await run0002(store);
      assert.deepEqual(await schemaAndTasks(store), before, "after running 0002 a third time");
    });

    it("0002 run twice in a row, directly, right after 0001: the second run changes nothing", async () => {
      const other = await target.create();
      const s2 = await openStore(other.url);
      try {
        await atInitialWithTasks(s2);
        await run0002(s2);
        const once = await schemaAndTasks(s2);
        assert.equal(once.tasks.length, 3);
        await run0002(s2);
        assert.deepEqual(await schemaAndTasks(s2), once);
        // And the rest of the migrations still apply on top (0002 itself is recorded as not run).
        await migrate(s2.db, s2.seam);
        const after = await schemaAndTasks(s2);
        assert.equal(after.tasks.length, 3);
        assert.equal(after.schema, await migratedSchema(target), "the schema of a fresh database at the latest version");
      } finally {
        await s2.close();
        await other.drop();
      }
    });
  });
}
