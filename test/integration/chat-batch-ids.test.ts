// Photos, documents, commands and notes in one batch: every task gets its own id, whatever mix of
// updates the batch holds. An earlier writer reserved ids for the batch up front and, when the
// count missed photos, handed one id out twice on SQLite (max(id) + 1) — and a note that made no
// task was answered with another note's code (found by the fuzz).
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

const CHAT = 8200;
function parsed(updateId: number, messageId: number, fields: Record<string, unknown>): ParsedUpdate {
  const r = parseUpdate({
    update_id: updateId,
    message: { message_id: messageId, date: 1, chat: { id: CHAT, type: "private" }, from: { id: CHAT, is_bot: false }, ...fields },
  });
  if (!r.ok) throw new Error(r.error);
  return r.update;
}
const text = (u: number, m: number, t: string) => parsed(u, m, { text: t });
const photo = (u: number, m: number) => parsed(u, m, { photo: [{ file_id: `p${m}`, file_unique_id: `u${m}`, width: 10, height: 10 }] });

for (const target of dbTargets()) {
  describe(`photos in a batch of notes: task ids (${target.name})`, () => {
    let tdb: TestDatabase;
    let store: Store;
    let pluginId: number;
    let linked: PluginState;
    before(async () => {
      tdb = await target.create();
      store = await openStore(tdb.url);
      await migrate(store.db, store.seam);
      const user = await createUser(store.db, store.seam, "fotos");
      const { plugin } = await createPlugin(store.db, store.seam, new MultiFernet([generateKey()]), {
        usuarioId: user.id,
        identificador: "@fotos_bot",
        token: "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr",
      });
      pluginId = plugin.id;
      await store.db.updateTable("plugin_configs").set({ verificado: 1, chat_id_verificado: CHAT }).where("id", "=", pluginId).execute();
      linked = pluginState(await getPluginRow(store.db, pluginId), store.seam);
    });
    after(async () => {
      await store.close();
      await tdb.drop();
    });

    it("a photo first, then a redelivered note and a new one: each answered with its own task, or none", async () => {
      const committer = new GroupCommitter(store.db, store.seam);
      const [first] = await Promise.all([committer.submit(pluginId, text(1, 100, "ya guardada"), linked)]);
      assert.equal(first!.outcome, "task");
      const results = await Promise.all([
        committer.submit(pluginId, photo(10, 200), linked),
        committer.submit(pluginId, text(11, 100, "ya guardada"), linked), // the same message again: no task
        committer.submit(pluginId, text(12, 201, "nueva"), linked),
        committer.submit(pluginId, photo(13, 202), linked),
      ]);
      assert.deepEqual(
        results.map((r) => r.outcome),
        ["task", "duplicate_message", "task", "task"],
      );
      const tasks = await store.db.selectFrom("tasks").select(["codigo", "message_id"]).where("plugin_id", "=", pluginId).execute();
      const byMessage = new Map(tasks.map((t) => [Number(t.message_id), t.codigo]));
      assert.equal(tasks.length, 4);
      assert.deepEqual([results[0]!.taskCodigo, results[2]!.taskCodigo, results[3]!.taskCodigo], [byMessage.get(200), byMessage.get(201), byMessage.get(202)]);
    });
  });
}
