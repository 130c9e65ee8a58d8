// The chat becomes two-way: /tareas, /deshacer (also as a reply), edits, forwards, photos and
// documents, and the command menu — through the real server, a real database and the fake Bot
// API over HTTP. Each test has a bot (and so a chat) of its own: the outbox paces each chat at
// one message a second, and a fresh chat keeps "the last task" and "the last 10" unambiguous.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { until } from "../support/wait.ts";

const CHAT = 6001;
/** Message ids for hand-built updates (photos, documents), far from the fake's own per-chat sequence. */
let handMessageId = 50_000;

for (const target of dbTargets()) {
  describe(`chat commands (${target.name})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(target);
    });
    after(() => stack.stop());

    async function linkedBot(): Promise<TestBot> {
      const bot = await stack.addBot();
      await stack.link(bot, CHAT);
      return bot;
    }

    /** Send a note and wait for its confirmation; returns the task's code and the note's message. */
    async function note(bot: TestBot, text: string): Promise<{ codigo: string; messageId: number; message: Record<string, unknown>; updateId: number }> {
      const r = await stack.sendText(bot, CHAT, text);
      assert.equal(r.status, 200);
      const message = r.update.message as Record<string, unknown>;
      const task = await taskOf(bot, message.message_id as number);
      await stack.fake.waitFor(() => stack.fake.sentMessages(bot.token).some((m) => m.text.includes(task.codigo)), 10_000, `confirmation of ${task.codigo}`);
      return { codigo: task.codigo, messageId: message.message_id as number, message, updateId: r.update.update_id as number };
    }

    async function taskOf(bot: TestBot, messageId: number) {
      const t = (await stack.tasks(bot.pluginId)).find((x) => x.metadatos_extra.message_id === messageId);
      assert.ok(t, `a task for message ${messageId}`);
      return t;
    }

    async function taskByCode(bot: TestBot, codigo: string) {
      return (await stack.tasks(bot.pluginId)).find((t) => t.codigo === codigo)!;
    }

    /** The next message the bot sends (after `n` sent), waited for. */
    async function nextReply(bot: TestBot, n: number, timeoutMs = 10_000) {
      await stack.fake.waitForMessages(n + 1, bot.token, timeoutMs);
      return stack.fake.sentMessages(bot.token)[n]!;
    }

    async function eventsOf(taskId: number, type: string): Promise<number> {
      const r = await stack.rt.store.db
        .selectFrom("events")
        .select(sql<number>`count(*)`.as("n"))
        .where("task_id", "=", taskId)
        .where("type", "=", type)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    }

    async function setEstado(id: number, estado: string): Promise<void> {
      await stack.rt.store.db.updateTable("tasks").set({ estado }).where("id", "=", id).execute();
    }

    function editUpdate(original: Record<string, unknown>, text: string, editDate = 1_900_000_000): Record<string, unknown> {
      return { edited_message: { ...original, text, edit_date: editDate } };
    }

    it("webhook set registers the command menu in Spanish and English, and asks for edits", async () => {
      const bot = await stack.addBot();
      assert.deepEqual(
        stack.fake.commandsOf(bot.token, "es").map((c) => (c as { command: string }).command),
        ["tareas", "deshacer"],
      );
      assert.deepEqual(
        stack.fake.commandsOf(bot.token, "en").map((c) => (c as { command: string }).command),
        ["tasks", "undo"],
      );
      assert.deepEqual(
        stack.fake.commandsOf(bot.token).map((c) => (c as { command: string }).command),
        ["tareas", "deshacer"],
        "the default list is the bot's language (es)",
      );
      assert.equal(stack.fake.callsOf("setMyCommands", bot.token).filter((c) => c.status === 200).length, 3);
      assert.deepEqual(stack.fake.webhookOf(bot.token)?.allowed_updates, ["message", "edited_message"]);
    });

    it("/tareas lists the chat's last 10 tasks, newest first, with code, state and title", async () => {
      const bot = await linkedBot();
      const codes: string[] = [];
      for (let i = 1; i <= 11; i++) {
        const r = await stack.sendText(bot, CHAT, `nota número ${i}`);
        assert.equal(r.status, 200);
        codes.push((await taskOf(bot, (r.update.message as { message_id: number }).message_id)).codigo);
      }
      await setEstado((await taskByCode(bot, codes[10]!)).id, "done");
      const r = await stack.sendText(bot, CHAT, "/tareas");
      assert.equal(r.status, 200);
      assert.equal((await stack.tasks(bot.pluginId)).length, 11, "a command makes no task");
      // 11 confirmations are paced at one a second before the list.
      await stack.fake.waitFor(() => stack.fake.sentMessages(bot.token).some((m) => m.text.startsWith("📋")), 30_000, "the task list");
      const list = stack.fake.sentMessages(bot.token).find((m) => m.text.startsWith("📋"))!;
      assert.equal(list.reply_to_message_id, (r.update.message as { message_id: number }).message_id);
      const lines = list.text.split("\n");
      assert.equal(lines[0], "📋 Tus últimas tareas:");
      assert.deepEqual(
        lines.slice(1).map((l) => /^\[(T-[0-9A-Z]{4})\]/.exec(l)?.[1]),
        codes.slice(1).reverse(),
        "the last 10, newest first",
      );
      assert.equal(lines[1], `[${codes[10]}] ✔️ hecha — nota número 11`);
      assert.equal(lines[10], `[${codes[1]}] ⏳ en cola — nota número 2`);

      // In English, and addressed to the bot by name.
      const n = stack.fake.sentMessages(bot.token).length;
      await stack.sendText(bot, CHAT, `/tasks@${bot.username}`, { languageCode: "en" });
      const en = await nextReply(bot, n);
      assert.match(en.text, /^📋 Your latest tasks:\n\[T-[0-9A-Z]{4}\] ✔️ done — nota número 11/);
    });

    it("/deshacer cancels the chat's last task while queued, says so, and writes task.state_changed", async () => {
      const bot = await linkedBot();
      const first = await note(bot, "primera");
      const last = await note(bot, "llamar al fontanero");
      const n = stack.fake.sentMessages(bot.token).length;
      const r = await stack.sendText(bot, CHAT, "/deshacer");
      assert.equal(r.status, 200);
      const t = await taskByCode(bot, last.codigo);
      assert.equal(t.estado, "cancelled");
      assert.equal((await taskByCode(bot, first.codigo)).estado, "queued", "only the last one");
      assert.equal(await eventsOf(t.id, "task.state_changed"), 1);
      const reply = await nextReply(bot, n);
      assert.equal(reply.text, `↩️ Tarea [${last.codigo}] cancelada.`);
      assert.equal(reply.reply_to_message_id, (r.update.message as { message_id: number }).message_id);

      // Again: the last task is cancelled already, and /deshacer says it cannot undo it.
      await stack.sendText(bot, CHAT, "/undo", { languageCode: "en" });
      const again = await nextReply(bot, n + 1);
      assert.match(again.text, new RegExp(`can't undo \\[${last.codigo}\\].*cancelled`));
      assert.equal(await eventsOf(t.id, "task.state_changed"), 1);
    });

    it("replying /deshacer to a confirmation cancels that task; replying to the note itself too", async () => {
      const bot = await linkedBot();
      const a = await note(bot, "tarea A");
      const b = await note(bot, "tarea B");
      const c = await note(bot, "tarea C");
      const confirmationOfA = stack.fake.sentMessages(bot.token).find((m) => m.text.includes(a.codigo))!;
      // The sender records the confirmation's Telegram message id just after Telegram answers.
      await until(
        async () =>
          Boolean(
            await stack.rt.store.db
              .selectFrom("outgoing_messages")
              .select("id")
              .where("plugin_id", "=", bot.pluginId)
              .where("telegram_message_id", "=", confirmationOfA.message_id)
              .executeTakeFirst(),
          ),
        "confirmation of A recorded",
        10_000,
      );
      const n = stack.fake.sentMessages(bot.token).length;
      const reply = stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "/deshacer", replyToMessageId: confirmationOfA.message_id });
      assert.equal((await stack.fake.deliverUpdate(bot.token, reply)).status, 200);
      assert.equal((await taskByCode(bot, a.codigo)).estado, "cancelled");
      assert.equal((await taskByCode(bot, b.codigo)).estado, "queued");
      assert.equal((await taskByCode(bot, c.codigo)).estado, "queued", "not the last task: the one replied to");
      assert.equal((await nextReply(bot, n)).text, `↩️ Tarea [${a.codigo}] cancelada.`);

      const toNote = stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "/deshacer", replyToMessageId: b.messageId });
      assert.equal((await stack.fake.deliverUpdate(bot.token, toNote)).status, 200);
      assert.equal((await taskByCode(bot, b.codigo)).estado, "cancelled");
      assert.equal((await taskByCode(bot, c.codigo)).estado, "queued");
      assert.equal((await nextReply(bot, n + 1)).text, `↩️ Tarea [${b.codigo}] cancelada.`);
    });

    it("/deshacer on a task a worker took already refuses, says why, and changes nothing", async () => {
      const bot = await linkedBot();
      const a = await note(bot, "en marcha");
      const t = await taskByCode(bot, a.codigo);
      await setEstado(t.id, "in_progress");
      const n = stack.fake.sentMessages(bot.token).length;
      assert.equal((await stack.sendText(bot, CHAT, "/deshacer")).status, 200);
      assert.equal((await taskByCode(bot, a.codigo)).estado, "in_progress");
      assert.equal(await eventsOf(t.id, "task.state_changed"), 0);
      assert.equal(
        (await nextReply(bot, n)).text,
        `⚠️ No puedo deshacer [${a.codigo}]: ya no está en cola (🔧 en curso). Solo se puede deshacer una tarea que nadie ha empezado.`,
      );
    });

    it("an edited message updates its queued task, keeps the earlier text in versiones, once per edit", async () => {
      const bot = await linkedBot();
      const a = await note(bot, "comprar pan");
      const t = await taskByCode(bot, a.codigo);
      const n = stack.fake.sentMessages(bot.token).length;
      const edit = { update_id: a.updateId + 1000, ...editUpdate(a.message, "comprar pan integral", 1_900_000_000) };
      assert.equal((await stack.fake.deliverUpdate(bot.token, edit)).status, 200);
      const after = await taskByCode(bot, a.codigo);
      assert.equal(after.titulo, "comprar pan integral");
      assert.equal(after.estado, "queued");
      assert.equal(after.metadatos_extra.texto_original, "comprar pan integral");
      assert.equal(after.metadatos_extra.editado_en, "2030-03-17T17:46:40.000Z");
      assert.deepEqual(after.metadatos_extra.versiones, [{ texto: "comprar pan", editado_en: "2030-03-17T17:46:40.000Z" }]);
      assert.equal(await eventsOf(t.id, "task.updated"), 1);
      const reply = await nextReply(bot, n);
      assert.equal(reply.text, `✏️ Tarea [${a.codigo}] actualizada con tu edición.`);
      assert.equal(reply.reply_to_message_id, a.messageId);

      // Telegram delivers the same edit again: nothing changes twice, no second reply.
      assert.equal((await stack.fake.deliverUpdate(bot.token, edit)).status, 200);
      const again = await taskByCode(bot, a.codigo);
      assert.deepEqual(again.metadatos_extra.versiones, after.metadatos_extra.versiones);
      assert.equal(await eventsOf(t.id, "task.updated"), 1);
      const replies = await stack.rt.store.db
        .selectFrom("outgoing_messages")
        .select("id")
        .where("plugin_id", "=", bot.pluginId)
        .where("kind", "=", "edit_applied")
        .execute();
      assert.equal(replies.length, 1);

      // A second, different edit: the first edit's text joins versiones too.
      const edit2 = { update_id: a.updateId + 1001, ...editUpdate(a.message, "comprar dos panes", 1_900_000_060) };
      assert.equal((await stack.fake.deliverUpdate(bot.token, edit2)).status, 200);
      const twice = await taskByCode(bot, a.codigo);
      assert.equal(twice.titulo, "comprar dos panes");
      assert.deepEqual(
        (twice.metadatos_extra.versiones as Array<{ texto: string }>).map((v) => v.texto),
        ["comprar pan", "comprar pan integral"],
      );
      assert.equal(await eventsOf(t.id, "task.updated"), 2);
    });

    it("an edit after the task left the queue is noted, not applied; an edit of a message without a task does nothing", async () => {
      const bot = await linkedBot();
      const a = await note(bot, "revisar contrato");
      const t = await taskByCode(bot, a.codigo);
      await setEstado(t.id, "done");
      const n = stack.fake.sentMessages(bot.token).length;
      const edit = { update_id: a.updateId + 1000, ...editUpdate(a.message, "revisar contrato y firmar") };
      assert.equal((await stack.fake.deliverUpdate(bot.token, edit)).status, 200);
      const after = await taskByCode(bot, a.codigo);
      assert.equal(after.titulo, "revisar contrato");
      assert.equal(after.metadatos_extra.texto_original, "revisar contrato");
      assert.equal(after.metadatos_extra.versiones, undefined);
      assert.deepEqual(after.metadatos_extra.ediciones_no_aplicadas, [{ texto: "revisar contrato y firmar", editado_en: "2030-03-17T17:46:40.000Z" }]);
      assert.equal(after.estado, "done");
      assert.equal(await eventsOf(t.id, "task.updated"), 1);
      assert.match((await nextReply(bot, n)).text, new RegExp(`\\[${a.codigo}\\] ya no está en cola \\(✔️ hecha\\)`));

      // The /tareas command message has no task: editing it changes nothing and answers nothing.
      const cmd = await stack.sendText(bot, CHAT, "/tareas");
      await nextReply(bot, n + 1);
      const before = await stack.tasks(bot.pluginId);
      const outBefore = await stack.rt.store.db.selectFrom("outgoing_messages").select("id").where("plugin_id", "=", bot.pluginId).execute();
      const stray = editUpdate(cmd.update.message as Record<string, unknown>, "/tareas ya");
      assert.equal((await stack.fake.deliverUpdate(bot.token, stray)).status, 200);
      assert.deepEqual(await stack.tasks(bot.pluginId), before);
      const outAfter = await stack.rt.store.db.selectFrom("outgoing_messages").select("id").where("plugin_id", "=", bot.pluginId).execute();
      assert.equal(outAfter.length, outBefore.length);
    });

    it("a forwarded message keeps its origin in reenviado_de", async () => {
      const bot = await linkedBot();
      const update = stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "idea que me pasó Ana" });
      (update.message as Record<string, unknown>).forward_origin = {
        type: "user",
        date: 1_700_000_000,
        sender_user: { id: 4242, is_bot: false, first_name: "Ana", last_name: "Gil", username: "anagil" },
      };
      assert.equal((await stack.fake.deliverUpdate(bot.token, update)).status, 200);
      const t = await taskOf(bot, (update.message as { message_id: number }).message_id);
      assert.equal(t.titulo, "idea que me pasó Ana");
      assert.deepEqual(t.metadatos_extra.reenviado_de, { type: "user", name: "Ana Gil", id: 4242, username: "anagil", date: "2023-11-14T22:13:20.000Z" });
    });

    it("a photo with a caption and a document without one become tasks with their adjunto, confirmed", async () => {
      const bot = await linkedBot();
      const base = () => ({
        message_id: handMessageId++,
        date: 1_700_000_000,
        chat: { id: CHAT, type: "private" },
        from: { id: CHAT, is_bot: false, first_name: "P" },
      });
      const photo = {
        ...base(),
        caption: "pizarra de la reunión",
        photo: [
          { file_id: "ph-small", file_unique_id: "u-small", width: 90, height: 68, file_size: 1_200 },
          { file_id: "ph-big", file_unique_id: "u-big", width: 1280, height: 960, file_size: 98_765 },
        ],
      };
      const doc = {
        ...base(),
        document: { file_id: "doc-1", file_unique_id: "u-doc", file_name: "factura.pdf", mime_type: "application/pdf", file_size: 54_321 },
      };
      assert.equal((await stack.fake.deliverUpdate(bot.token, { update_id: 90_000, message: photo })).status, 200);
      assert.equal((await stack.fake.deliverUpdate(bot.token, { update_id: 90_001, message: doc })).status, 200);

      const p = await taskOf(bot, photo.message_id);
      assert.equal(p.tipo, "telegram");
      assert.equal(p.titulo, "pizarra de la reunión");
      assert.equal(p.estado, "queued");
      assert.deepEqual(p.metadatos_extra.adjunto, {
        kind: "photo",
        file_id: "ph-big",
        file_unique_id: "u-big",
        file_name: null,
        mime_type: null,
        file_size: 98_765,
        width: 1280,
        height: 960,
      });
      const d = await taskOf(bot, doc.message_id);
      assert.equal(d.tipo, "telegram");
      assert.equal(d.titulo, "📎 factura.pdf");
      assert.deepEqual(d.metadatos_extra.adjunto, {
        kind: "document",
        file_id: "doc-1",
        file_unique_id: "u-doc",
        file_name: "factura.pdf",
        mime_type: "application/pdf",
        file_size: 54_321,
      });
      for (const t of [p, d]) assert.equal(await eventsOf(t.id, "task.created"), 1);

      await stack.fake.waitFor(
        () => [p, d].every((t) => stack.fake.sentMessages(bot.token).some((m) => m.text === `✅ Recibido. Encolando... [${t.codigo}]`)),
        10_000,
        "both confirmations",
      );
      const confirmation = stack.fake.sentMessages(bot.token).find((m) => m.text.includes(p.codigo))!;
      assert.equal(confirmation.reply_to_message_id, photo.message_id);

      // Redelivered: still one task each, one confirmation each.
      assert.equal((await stack.fake.deliverUpdate(bot.token, { update_id: 90_000, message: photo })).status, 200);
      assert.equal((await stack.tasks(bot.pluginId)).filter((t) => t.metadatos_extra.message_id === photo.message_id).length, 1);
    });
  });
}
