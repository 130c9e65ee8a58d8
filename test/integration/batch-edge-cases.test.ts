// One group-commit batch holding the awkward cases together, planned on the plugin state the
// webhook would have cached (webhook/plan.ts) and written by the dialect's writer (one statement
// then one transaction on PostgreSQL, one synchronous transaction on SQLite). The rules:
// an update counts once, a message gets one task and one confirmation, a reused update_id with a
// new message is a new message, order follows update_id, an update decided on a stale state is
// decided again, and a failure in one part of a batch does not disown what another part committed.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { openStore, type Store } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin, getPluginRow } from "../../src/plugins/store.ts";
import { pluginState } from "../../src/plugins/state.ts";
import { MultiFernet, generateKey } from "../../src/crypto/fernet.ts";
import { GroupCommitter } from "../../src/webhook/group-commit.ts";
import { parseUpdate, type ParsedUpdate } from "../../src/telegram/update.ts";
import type { PluginState } from "../../src/plugins/state.ts";
import type { DialectSeam } from "../../src/db/dialect.ts";
import { watchWriter, type CachedDecision } from "../support/watch-writer.ts";
import { sql } from "kysely";

const CHAT = 8100;
function update(updateId: number, messageId: number, text: string, chatId = CHAT): ParsedUpdate {
  const r = parseUpdate({
    update_id: updateId,
    message: { message_id: messageId, date: 1, chat: { id: chatId, type: "private" }, from: { id: chatId, is_bot: false }, text },
  });
  if (!r.ok) throw new Error(r.error);
  return r.update;
}

for (const target of dbTargets()) {
  describe(`one batch with duplicates, reused ids and a stale state (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let pluginId: number;
    let linked: PluginState;
    /** The store's seam with its writer watched: which updates it was given planned on the cache, and whether that held. */
    let seam: DialectSeam;
    let fastPath: CachedDecision[] = [];
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      await migrate(store.db, store.seam);
      const user = await createUser(store.db, store.seam, "lote");
      const { plugin } = await createPlugin(store.db, store.seam, new MultiFernet([generateKey()]), {
        usuarioId: user.id,
        identificador: "@lote_bot",
        token: "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr",
      });
      pluginId = plugin.id;
      await store.db.updateTable("plugin_configs").set({ verificado: 1, chat_id_verificado: CHAT }).where("id", "=", pluginId).execute();
      linked = pluginState(await getPluginRow(store.db, pluginId), store.seam);
      seam = { ...store.seam };
      fastPath = watchWriter(seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    const tasks = () => store.db.selectFrom("tasks").selectAll().where("plugin_id", "=", pluginId).orderBy("id").execute();
    const outgoing = () => store.db.selectFrom("outgoing_messages").selectAll().where("plugin_id", "=", pluginId).orderBy("id").execute();

    it("writes each update once, one task and one confirmation per message, in update order", async () => {
      const committer = new GroupCommitter(store.db, seam);
      // Submitted in one turn of the event loop: one batch.
      const results = await Promise.all([
        committer.submit(pluginId, update(12, 502, "segunda"), linked),
        committer.submit(pluginId, update(11, 501, "primera"), linked),
        committer.submit(pluginId, update(11, 501, "primera"), linked), // the same update twice
        committer.submit(pluginId, update(13, 501, "primera"), linked), // the same message, another update_id
      ]);
      assert.equal(committer.stats.transactions, 1, "one batch");
      assert.deepEqual(
        fastPath.map((f) => f.updateId),
        [11, 12, 13],
        "planned on the cached state and written as planned (the duplicate update planned as one)",
      );
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["task", "task", "duplicate", "duplicate_message"],
      );
      const t = await tasks();
      assert.deepEqual(
        t.map((x) => x.titulo),
        ["primera", "segunda"],
        "tasks in update_id order",
      );
      assert.deepEqual(
        results.slice(0, 2).map((r) => r.taskCodigo),
        [t[1]!.codigo, t[0]!.codigo],
      );
      const o = await outgoing();
      assert.deepEqual(
        o.map((m) => m.text),
        [`✅ Recibido. Encolando... [${t[0]!.codigo}]`, `✅ Recibido. Encolando... [${t[1]!.codigo}]`],
      );
      assert.deepEqual(
        o.map((m) => Number(m.task_id)),
        t.map((x) => Number(x.id)),
      );
      assert.deepEqual(
        o.map((m) => Number(m.reply_to_message_id)),
        [501, 502],
      );
    });

    it("a redelivered update is a duplicate; an update_id reused for a new message is a new task", async () => {
      const committer = new GroupCommitter(store.db, seam);
      const results = await Promise.all([
        committer.submit(pluginId, update(12, 502, "segunda"), linked), // redelivered
        committer.submit(pluginId, update(11, 777, "otra semana, otro mensaje"), linked), // update_id 11 reused
      ]);
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["duplicate", "task"],
      );
      const t = await tasks();
      assert.equal(t.length, 3);
      assert.equal(t[2]!.titulo, "otra semana, otro mensaje");
      assert.equal((await outgoing()).length, 3);
      const mark = await store.db
        .selectFrom("processed_updates")
        .selectAll()
        .where("plugin_id", "=", pluginId)
        .where("update_id", "=", 11)
        .executeTakeFirstOrThrow();
      assert.equal(Number(mark.message_id), 777, "the reused mark now names the new message");
    });

    it("a reused update_id and a new update in one batch keep their order (tasks and confirmations)", async () => {
      const committer = new GroupCommitter(store.db, seam);
      const results = await Promise.all([
        committer.submit(pluginId, update(14, 1001, "nuevo después"), linked),
        committer.submit(pluginId, update(12, 1000, "reutiliza el 12"), linked), // update_id 12 reused
      ]);
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["task", "task"],
      );
      const t = (await tasks()).slice(-2);
      assert.deepEqual(
        t.map((x) => x.titulo),
        ["reutiliza el 12", "nuevo después"],
      );
      assert.deepEqual(
        (await outgoing()).slice(-2).map((m) => Number(m.reply_to_message_id)),
        [1000, 1001],
      );
    });

    it("when part of a batch fails, the updates committed are answered as written and the failed one alone fails", async () => {
      // A chat that is not linked gets a warning, written through the transactional path: make
      // that write fail, in the same batch as a message from the linked chat.
      if (target.name === "sqlite") {
        await sql`create trigger chat_state_fails before insert on chat_state begin select raise(abort, 'injected failure'); end`.execute(store.db);
      } else {
        await sql`create function chat_state_fails() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(store.db);
        await sql`create trigger chat_state_fails before insert on chat_state for each row execute function chat_state_fails()`.execute(store.db);
      }
      try {
        const committer = new GroupCommitter(store.db, seam);
        const before = (await tasks()).length;
        const [ok, failed, again] = await Promise.allSettled([
          committer.submit(pluginId, update(30, 1100, "entra por la vía rápida"), linked),
          committer.submit(pluginId, update(31, 1101, "desde otro chat", CHAT + 1), linked),
          // The same update delivered twice at once: its second delivery must not be answered
          // "duplicate" (200) while the first one fails to commit (Telegram would drop it).
          committer.submit(pluginId, update(31, 1101, "desde otro chat", CHAT + 1), linked),
        ]);
        assert.equal(ok.status, "fulfilled");
        const r = (ok as PromiseFulfilledResult<{ outcome: string; taskCodigo?: string }>).value;
        assert.equal(r.outcome, "task");
        const t = (await tasks()).slice(before);
        assert.equal(t.length, 1);
        assert.equal(r.taskCodigo, t[0]!.codigo, "answered with its task's code, not as a duplicate");
        assert.equal(failed.status, "rejected");
        assert.match(String((failed as PromiseRejectedResult).reason), /injected failure/);
        assert.equal(again.status, "rejected", "the second delivery of the failed update is not answered as a duplicate");
        const mark = await store.db
          .selectFrom("processed_updates")
          .selectAll()
          .where("plugin_id", "=", pluginId)
          .where("update_id", "=", 31)
          .executeTakeFirst();
        assert.equal(mark, undefined, "nothing of the failed update was written");
      } finally {
        await sql`drop trigger chat_state_fails${target.name === "sqlite" ? sql`` : sql` on chat_state`}`.execute(store.db);
      }
    });

    it("the same message under a new update_id gets its task when its first delivery made none", async () => {
      // Update 60 (message 1400) was taken before the chat was linked: a mark, a warning, no task.
      await store.db
        .insertInto("processed_updates")
        .values({ plugin_id: pluginId, update_id: 60, chat_id: CHAT, message_id: 1400, outcome: "warned:not_linked", received_at: 1 })
        .execute();
      const committer = new GroupCommitter(store.db, seam);
      const results = await Promise.all([
        committer.submit(pluginId, update(60, 1400, "mensaje 1400"), linked), // redelivered: a duplicate
        committer.submit(pluginId, update(61, 1400, "mensaje 1400"), linked), // the same message, another update_id
      ]);
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["duplicate", "task"],
      );
      const t = (await tasks()).filter((x) => Number(x.message_id) === 1400);
      assert.equal(t.length, 1);
      assert.equal(results[1]!.taskCodigo, t[0]!.codigo);
      assert.equal((await outgoing()).filter((m) => Number(m.reply_to_message_id) === 1400).length, 1);
    });

    it("one batch holding states from before and after a link keeps update order", async () => {
      // "/start" and a message at once: the first request looked the plugin up before the link
      // (its state: not linked), the next one after (linked). The second must not overtake it.
      const before = { ...linked, verificado: false, chatIdVerificado: null };
      const committer = new GroupCommitter(store.db, seam);
      const n = (await tasks()).length;
      const results = await Promise.all([
        committer.submit(pluginId, update(41, 1201, "segundo"), linked),
        committer.submit(pluginId, update(40, 1200, "primero"), before),
      ]);
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["task", "task"],
      );
      assert.deepEqual(
        (await tasks()).slice(n).map((t) => t.titulo),
        ["primero", "segundo"],
      );
      assert.deepEqual(
        (await outgoing()).slice(-2).map((m) => Number(m.reply_to_message_id)),
        [1200, 1201],
      );
    });

    it("a transaction left open on the connection makes the writer fail, not answer for what is not committed", {
      skip: target.name !== "sqlite" ? "SQLite only (its writer runs on the one shared connection)" : false,
    }, async () => {
      await sql`begin`.execute(store.db); // a leaked transaction: nothing written from now on would be committed
      try {
        const committer = new GroupCommitter(store.db, seam);
        await assert.rejects(committer.submit(pluginId, update(70, 1500, "dentro de una transacción abierta"), linked), /already open/);
      } finally {
        await sql`rollback`.execute(store.db);
      }
      assert.equal((await tasks()).filter((t) => Number(t.message_id) === 1500).length, 0);
    });

    it("an unlink in progress is waited for, planned on the cache or not, and its result decides", {
      skip: target.name !== "postgres" ? "PostgreSQL only (on SQLite the unlink holds the one write lock: nothing can run beside it)" : false,
    }, async () => {
      const pg = await import("pg");
      for (const [label, cached] of [
        ["planned on the cache (the one-statement run)", linked],
        ["no cached state (the transaction)", undefined],
      ] as const) {
        await store.db.updateTable("plugin_configs").set({ verificado: 1, chat_id_verificado: CHAT }).where("id", "=", pluginId).execute();
        const n = (await tasks()).length;
        // `plugin unlink`, held open on another connection: it changes the verification code (a
        // unique column: that is what makes it wait for readers holding FOR KEY SHARE).
        const id = 50 + (cached ? 0 : 1);
        const other = new pg.default.Client({ connectionString: tdb.url });
        await other.connect();
        await other.query("begin");
        await other.query("update plugin_configs set verificado = false, chat_id_verificado = null, codigo_verificacion = $2 where id = $1", [
          pluginId,
          `JOE-T${id}`,
        ]);
        const committer = new GroupCommitter(store.db, seam);
        const pending = committer.submit(pluginId, update(id, 1300 + id, `durante el unlink (${label})`), cached);
        await new Promise((r) => setTimeout(r, 300));
        await other.query("commit");
        await other.end();
        const r = await pending;
        assert.match(r.outcome, /^(warned|warn_suppressed):not_linked$/, label); // one warning a minute
        assert.equal((await tasks()).length, n, `${label}: no task for the chat unlinked meanwhile`);
      }
      await store.db.deleteFrom("chat_state").where("plugin_id", "=", pluginId).execute(); // as `plugin unlink` would
    });

    it("decided on a stale state (the plugin was unlinked meanwhile): decided again, no task", async () => {
      await store.db.updateTable("plugin_configs").set({ verificado: 0, chat_id_verificado: null }).where("id", "=", pluginId).execute();
      const committer = new GroupCommitter(store.db, seam);
      const before = (await tasks()).length;
      fastPath.length = 0;
      const [r] = await Promise.all([committer.submit(pluginId, update(20, 900, "ya no vinculado"), linked)]);
      assert.deepEqual(
        fastPath.map((f) => [f.updateId, f.held]),
        [[20, false]],
        "tried on the cached state, found stale",
      );
      assert.equal(r!.outcome, "warned:not_linked");
      assert.equal((await tasks()).length, before);
      assert.equal((await outgoing()).at(-1)!.kind, "not_linked");
    });
  });
}
