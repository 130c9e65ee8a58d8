// The seed's nine steps, end to end: real server, real database, fake Bot API over HTTP.
// Each test stands alone (any one can run by itself, in any order): the steps about an unlinked
// bot and linking get a fresh bot each; the others share one linked in `before`, and look only at
// the rows and messages they made.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { until } from "../support/wait.ts";

for (const target of dbTargets()) {
  describe(`nine steps (${target.name})`, () => {
    let stack: Stack;
    /** Linked to chat 5001 before any test runs. */
    let bot: TestBot;
    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
      await stack.link(bot, 5001);
    });
    after(() => stack.stop());

    it("registers the webhook with the seed's path and the plugin's secret", () => {
      const wh = stack.fake.webhookOf(bot.token)!;
      assert.equal(wh.url, `${stack.baseUrl}/plugins/telegram/webhook/${bot.pluginId}/`);
      assert.equal(wh.secret_token, bot.secret);
    });

    it("before linking: warns, creates no task", async () => {
      const fresh = await stack.addBot();
      const r = await stack.sendText(fresh, 5001, "hola antes de vincular");
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { ok: true });
      await stack.fake.waitForMessages(1, fresh.token);
      assert.match(stack.fake.sentMessages(fresh.token)[0]!.text, /no está vinculado/);
      assert.equal((await stack.tasks(fresh.pluginId)).length, 0);
    });

    it("/start with the code links the chat and answers the seed's text", async () => {
      const fresh = await stack.addBot();
      await stack.link(fresh, 5001);
      const last = stack.fake.sentMessages(fresh.token).at(-1)!;
      assert.equal(last.text, "✅ ¡Bot vinculado con éxito! Ya puedes enviarme notas de voz o texto.");
      assert.equal(last.chat_id, 5001);
      const row = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", fresh.pluginId).executeTakeFirstOrThrow();
      assert.equal(Boolean(row.verificado), true);
      assert.equal(Number(row.chat_id_verificado), 5001);
    });

    it("text becomes a task and the chat gets the confirmation with its code, as a reply", async () => {
      const n = stack.fake.sentMessages(bot.token).length;
      const r = await stack.sendText(bot, 5001, "comprar pan");
      assert.equal(r.status, 200);
      const tasks = (await stack.tasks(bot.pluginId)).filter((x) => x.titulo === "comprar pan");
      assert.equal(tasks.length, 1);
      const t = tasks[0]!;
      assert.equal(t.tipo, "telegram");
      assert.equal(t.estado, "queued");
      assert.match(t.codigo, /^T-[0-9A-Z]{4}$/);
      const msgId = (r.update.message as { message_id: number }).message_id;
      assert.deepEqual(t.metadatos_extra, { chat_id: 5001, message_id: msgId, plugin_id: bot.pluginId, owner_id: t.usuario_id, texto_original: "comprar pan" });
      await stack.fake.waitForMessages(n + 1, bot.token);
      const confirmation = stack.fake.sentMessages(bot.token).at(-1)!;
      assert.equal(confirmation.text, `✅ Recibido. Encolando... [${t.codigo}]`);
      assert.equal(confirmation.reply_to_message_id, msgId);
    });

    it("voice note becomes a telegram_voice task pending transcription", async () => {
      const n = stack.fake.sentMessages(bot.token).length;
      const update = {
        message: {
          message_id: 900,
          date: 1,
          chat: { id: 5001, type: "private" },
          from: { id: 5001, is_bot: false, first_name: "P" },
          voice: { file_id: "AwACAgQ", file_unique_id: "AgAD1", duration: 12, mime_type: "audio/ogg", file_size: 23456 },
        },
      };
      const r = await stack.fake.deliverUpdate(bot.token, update);
      assert.equal(r.status, 200);
      const t = (await stack.tasks(bot.pluginId)).find((x) => x.tipo === "telegram_voice")!;
      assert.equal(t.titulo, "🎤 Nota de voz (0:12)");
      assert.equal(t.metadatos_extra.pendiente_stt, true);
      assert.equal(t.metadatos_extra.file_id, "AwACAgQ");
      assert.equal(t.metadatos_extra.duration, 12);
      assert.equal(t.metadatos_extra.texto_original, undefined);
      await stack.fake.waitForMessages(n + 1, bot.token);
      assert.equal(stack.fake.sentMessages(bot.token).at(-1)!.text, `✅ Recibido. Encolando... [${t.codigo}]`);
    });

    it("English for users whose language_code is en", async () => {
      const n = stack.fake.sentMessages(bot.token).length;
      await stack.sendText(bot, 5001, "buy milk", { languageCode: "en-GB" });
      await stack.fake.waitForMessages(n + 1, bot.token);
      assert.match(stack.fake.sentMessages(bot.token).at(-1)!.text, /^✅ Received\. Queuing\.\.\. \[T-[0-9A-Z]{4}\]$/);
    });

    it("the same update delivered twice: one task, one confirmation", async () => {
      const outgoing = () =>
        stack.rt.store.db.selectFrom("outgoing_messages").select(["id", "task_id", "status"]).where("plugin_id", "=", bot.pluginId).orderBy("id").execute();
      const update = stack.fake.makeTextUpdate(bot.token, { chatId: 5001, text: "una sola vez" });
      const a = await stack.fake.deliverUpdate(bot.token, update);
      assert.equal(a.status, 200);
      // A 200 means the update's rows are committed: the confirmation is queued by now.
      const afterFirst = await outgoing();
      const b = await stack.fake.deliverUpdate(bot.token, update);
      assert.equal(b.status, 200);
      const tasks = (await stack.tasks(bot.pluginId)).filter((t) => t.titulo === "una sola vez");
      assert.equal(tasks.length, 1);
      const taskId = Number(tasks[0]!.id);
      const afterSecond = await outgoing();
      assert.equal(afterSecond.filter((m) => Number(m.task_id) === taskId).length, 1, "exactly one confirmation queued for the task");
      assert.deepEqual(
        afterSecond.map((m) => Number(m.id)),
        afterFirst.map((m) => Number(m.id)),
        "the redelivery queued no outgoing row",
      );
      // That one row is sent once: once it is marked sent, the outbox never sends it again.
      await until(async () => (await outgoing()).find((m) => Number(m.task_id) === taskId)?.status === "sent", "the confirmation marked sent");
      assert.equal(stack.fake.sentMessages(bot.token).filter((m) => m.text.includes(tasks[0]!.codigo)).length, 1);
    });

    it("another chat cannot use or re-link a linked bot", async () => {
      const before = (await stack.tasks(bot.pluginId)).length;
      await stack.sendText(bot, 7777, "soy un extraño");
      await stack.sendText(bot, 7777, `/start ${bot.codigo}`);
      assert.equal((await stack.tasks(bot.pluginId)).length, before);
      const row = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
      assert.equal(Number(row.chat_id_verificado), 5001);
    });

    it("wrong or missing secret: 401 and nothing stored", async () => {
      const update = stack.fake.makeTextUpdate(bot.token, { chatId: 5001, text: "con secreto falso" });
      const before = (await stack.tasks(bot.pluginId)).length;
      assert.equal((await stack.fake.deliverUpdate(bot.token, update, { secret: "nope" })).status, 401);
      assert.equal((await stack.fake.deliverUpdate(bot.token, update, { secret: null })).status, 401);
      assert.equal((await stack.tasks(bot.pluginId)).length, before);
    });

    it("unknown plugin: 404; without the trailing slash: also served", async () => {
      const body = JSON.stringify(stack.fake.makeTextUpdate(bot.token, { chatId: 5001, text: "sin barra" }));
      const headers = { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.secret };
      const nf = await fetch(`${stack.baseUrl}/plugins/telegram/webhook/999999/`, { method: "POST", headers, body });
      assert.equal(nf.status, 404);
      const noSlash = await fetch(`${stack.baseUrl}/plugins/telegram/webhook/${bot.pluginId}`, { method: "POST", headers, body });
      assert.equal(noSlash.status, 200);
      assert.ok((await stack.tasks(bot.pluginId)).some((t) => t.titulo === "sin barra"));
    });
  });
}
