// One group-commit batch holding the awkward cases together, given the plugin state the webhook
// would have cached (on PostgreSQL that sends the batch down the one-statement path,
// webhook/write-linked.ts; on SQLite, the transaction). Whatever the path, the rules are the same:
// an update counts once, a message gets one task and one confirmation, a reused update_id with a
// new message is a new message, and an update decided on a stale state is decided again.
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
import type { PluginState } from "../../src/webhook/decide.ts";

const CHAT = 8100;
function update(updateId: number, messageId: number, text: string, chatId = CHAT): ParsedUpdate {
  const r = parseUpdate({ update_id: updateId, message: { message_id: messageId, date: 1, chat: { id: chatId, type: "private" }, from: { id: chatId, is_bot: false }, text } });
  if (!r.ok) throw new Error(r.error);
  return r.update;
}

for (const target of dbTargets()) {
  describe(`one batch with duplicates, reused ids and a stale state (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let pluginId: number;
    let linked: PluginState;
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      await migrate(store.db, store.seam);
      const user = await createUser(store.db, store.seam, "lote");
      const { plugin } = await createPlugin(store.db, store.seam, new MultiFernet([generateKey()]), { usuarioId: user.id, identificador: "@lote_bot", token: "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr" });
      pluginId = plugin.id;
      await store.db.updateTable("plugin_configs").set({ verificado: 1, chat_id_verificado: CHAT }).where("id", "=", pluginId).execute();
      linked = pluginState(await getPluginRow(store.db, pluginId), store.seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    const tasks = () => store.db.selectFrom("tasks").selectAll().where("plugin_id", "=", pluginId).orderBy("id").execute();
    const outgoing = () => store.db.selectFrom("outgoing_messages").selectAll().where("plugin_id", "=", pluginId).orderBy("id").execute();

    it("writes each update once, one task and one confirmation per message, in update order", async () => {
      const committer = new GroupCommitter(store.db, store.seam);
      // Submitted in one turn of the event loop: one batch.
      const results = await Promise.all([
        committer.submit(pluginId, update(12, 502, "segunda"), linked),
        committer.submit(pluginId, update(11, 501, "primera"), linked),
        committer.submit(pluginId, update(11, 501, "primera"), linked), // the same update twice
        committer.submit(pluginId, update(13, 501, "primera"), linked), // the same message, another update_id
      ]);
      assert.equal(committer.stats.transactions, 1, "one batch");
      assert.deepEqual(results.map((r) => r.outcome), ["task", "task", "duplicate", "duplicate_message"]);
      const t = await tasks();
      assert.deepEqual(t.map((x) => x.titulo), ["primera", "segunda"], "tasks in update_id order");
      assert.deepEqual(results.slice(0, 2).map((r) => r.taskCodigo), [t[1]!.codigo, t[0]!.codigo]);
      const o = await outgoing();
      assert.deepEqual(o.map((m) => m.text), [`✅ Recibido. Encolando... [${t[0]!.codigo}]`, `✅ Recibido. Encolando... [${t[1]!.codigo}]`]);
      assert.deepEqual(o.map((m) => Number(m.task_id)), t.map((x) => Number(x.id)));
      assert.deepEqual(o.map((m) => Number(m.reply_to_message_id)), [501, 502]);
    });

    it("a redelivered update is a duplicate; an update_id reused for a new message is a new task", async () => {
      const committer = new GroupCommitter(store.db, store.seam);
      const results = await Promise.all([
        committer.submit(pluginId, update(12, 502, "segunda"), linked), // redelivered
        committer.submit(pluginId, update(11, 777, "otra semana, otro mensaje"), linked), // update_id 11 reused
      ]);
      assert.deepEqual(results.map((r) => r.outcome), ["duplicate", "task"]);
      const t = await tasks();
      assert.equal(t.length, 3);
      assert.equal(t[2]!.titulo, "otra semana, otro mensaje");
      assert.equal((await outgoing()).length, 3);
      const mark = await store.db.selectFrom("processed_updates").selectAll().where("plugin_id", "=", pluginId).where("update_id", "=", 11).executeTakeFirstOrThrow();
      assert.equal(Number(mark.message_id), 777, "the reused mark now names the new message");
    });

    it("decided on a stale state (the plugin was unlinked meanwhile): decided again, no task", async () => {
      await store.db.updateTable("plugin_configs").set({ verificado: 0, chat_id_verificado: null }).where("id", "=", pluginId).execute();
      const committer = new GroupCommitter(store.db, store.seam);
      const before = (await tasks()).length;
      const [r] = await Promise.all([committer.submit(pluginId, update(20, 900, "ya no vinculado"), linked)]);
      assert.equal(r!.outcome, "warned:not_linked");
      assert.equal((await tasks()).length, before);
      assert.equal((await outgoing()).at(-1)!.kind, "not_linked");
    });
  });
}
