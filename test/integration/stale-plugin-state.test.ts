// The webhook keeps each plugin's state for a few seconds (plugins/directory.ts; its clock is
// injected here, so nothing sleeps), and a message from the linked chat is planned on that state
// (webhook/plan.ts) and written by the dialect's writer, which checks the link still holds. A change of link must
// count from the moment it is committed, not when the cached state expires: these tests change
// the link directly in the database, with the cache still warm, and send at once.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { unlinkPlugin } from "../../src/plugins/store.ts";
import { watchWriter, type CachedDecision } from "../support/watch-writer.ts";
import { DIRECTORY_LIMITS } from "../../src/plugins/directory.ts";

for (const target of dbTargets()) {
  describe(`a link changed while the webhook's plugin state is cached (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    const OLD_CHAT = 7001;
    const NEW_CHAT = 7002;
    /** What the writer was given decided on the cached state, and whether that state still held. */
    let fastPath: CachedDecision[] = [];
    // The plugin cache's own clock: it moves only when a test says the cache expires, so the
    // cache is warm exactly when a test means it to be, however slow the machine is.
    let skewMs = 0;
    before(async () => {
      stack = await startStack(target, { pluginCacheNow: () => Date.now() + skewMs });
      // Watch the writer: these tests mean something only if the cached state reached it.
      fastPath = watchWriter(stack.rt.store.seam);
      bot = await stack.addBot();
      await stack.link(bot, OLD_CHAT);
    });
    after(() => stack.stop());

    // After this, the next request reads the plugin again, and that state stays cached until the
    // next call (PluginDirectory's TTL, on the injected clock).
    const cacheExpires = () => {
      skewMs += DIRECTORY_LIMITS.ttlMs + 1;
    };
    const tasksOf = async (chatId: number) => (await stack.tasks(bot.pluginId)).filter((t) => t.metadatos_extra.chat_id === chatId);

    it("the linked chat's message becomes a task (and warms the cache)", async () => {
      cacheExpires();
      const r = await stack.sendText(bot, OLD_CHAT, "primera tarea");
      assert.equal(r.status, 200);
      assert.equal((await tasksOf(OLD_CHAT)).length, 1);
    });

    it("unlinked a moment ago: the old chat's next message makes no task and is answered 'not linked'", async () => {
      const sentBefore = stack.fake.sentMessages(bot.token).length;
      const unlinked = await unlinkPlugin(stack.rt.store.db, stack.rt.store.seam, bot.pluginId);
      bot.codigo = unlinked.codigo_verificacion;
      fastPath.length = 0;
      const r = await stack.sendText(bot, OLD_CHAT, "después de desvincular");
      assert.equal(r.status, 200);
      assert.deepEqual(
        fastPath.map(({ chatId, held }) => ({ chatId, held })),
        [{ chatId: OLD_CHAT, held: false }],
        "decided on the cached (linked) state, caught by the check",
      );
      assert.equal((await tasksOf(OLD_CHAT)).length, 1, "no task for a chat that is no longer linked");
      await stack.fake.waitFor(() =>
        stack.fake
          .sentMessages(bot.token)
          .slice(sentBefore)
          .some((m) => m.chat_id === OLD_CHAT && /no está vinculado/.test(m.text)),
      );
      const outgoing = await stack.rt.store.db
        .selectFrom("outgoing_messages")
        .select("kind")
        .where("plugin_id", "=", bot.pluginId)
        .orderBy("id", "desc")
        .executeTakeFirstOrThrow();
      assert.equal(outgoing.kind, "not_linked");
    });

    it("linked again to another chat: the new chat's messages become tasks, the old chat's do not", async () => {
      await stack.link(bot, NEW_CHAT);
      cacheExpires();
      // Warm the cache with the new link, then move the link back and forth behind its back.
      assert.equal((await stack.sendText(bot, NEW_CHAT, "en el chat nuevo")).status, 200);
      assert.equal((await tasksOf(NEW_CHAT)).length, 1);
      await stack.rt.store.db.updateTable("plugin_configs").set({ chat_id_verificado: OLD_CHAT }).where("id", "=", bot.pluginId).execute();
      // The cache still says NEW_CHAT: the statement's check must catch that the link moved.
      fastPath.length = 0;
      assert.equal((await stack.sendText(bot, NEW_CHAT, "el chat nuevo ya no es el vinculado")).status, 200);
      assert.deepEqual(
        fastPath.map(({ chatId, held }) => ({ chatId, held })),
        [{ chatId: NEW_CHAT, held: false }],
      );
      assert.equal((await tasksOf(NEW_CHAT)).length, 1, "no task once the link moved away");
      assert.equal((await stack.sendText(bot, OLD_CHAT, "el chat viejo vuelve a estar vinculado")).status, 200);
      assert.equal((await tasksOf(OLD_CHAT)).length, 2, "the chat the link moved to is served at once");
    });
  });
}
