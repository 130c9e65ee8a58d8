// kill -9 of `serve` in the middle of a burst of deliveries, then restart and redeliver: every
// update answered 200 has its task, no task is doubled, every confirmation is sent exactly once
// (after the restart), in order per chat. Plus the other ways one message can arrive twice:
// the same update to two requests at once, the same message under two update_ids, and an
// update_id reused by Telegram for a different message.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import type { FakeBotApi } from "../support/fake-bot-api.ts";
import type { Runtime } from "../../src/runtime.ts";
import { sleep } from "../support/wait.ts";
import {
  deliverAll,
  messageIdOf,
  startServerProcess,
  startWorld,
  stopWorld,
  type Delivered,
  type Outgoing,
  type ServerEnv,
  type ServerProcess,
  type WorldBot,
} from "../support/server-process.ts";

// Telegram paces a private chat to ~1 message/s, and so does Joe: 300 confirmations to one chat
// would take five minutes. 30 linked chats (one bot each) x 10 messages keep the total at 300
// while the confirmations drain in ~10 s.
const CHATS = 30;
const CRASH_ENV = { SEND_TIMEOUT_SECONDS: "5" };
const PER_CHAT = 10;
const IN_FLIGHT = 20;
const KILL_AFTER = 100;
const CODE_RE = /\[(T-[0-9A-Z]+)\]/;

interface TaskKey {
  plugin_id: number;
  chat_id: number;
  message_id: number;
  codigo: string;
  titulo: string;
  id: number;
}

for (const target of dbTargets()) {
  describe(`faults: kill -9 during delivery (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let env: ServerEnv;
    let rt: Runtime;
    let port: number;
    let server: ServerProcess | undefined;
    let bots: WorldBot[];

    before(async () => {
      // A short send timeout, so the claims of the killed server (lease = send timeout + 60 s) run
      // out within the test's wait: the Bot API here answers at once, and what is tested is that
      // nothing is lost or doubled, not how long a lease lasts.
      ({ database, fake, env, rt, port, server, bots } = await startWorld(target, CHATS, CRASH_ENV));
    });

    after(() => stopWorld({ server, rt, fake, database }));

    const pluginIds = () => bots.map((b) => b.pluginId);
    const tasksOf = async (ids: number[]): Promise<TaskKey[]> => {
      const rows = await rt.store.db
        .selectFrom("tasks")
        .select(["id", "plugin_id", "chat_id", "message_id", "codigo", "titulo"])
        .where("plugin_id", "in", ids)
        .orderBy("id")
        .execute();
      return rows.map((r) => ({
        id: Number(r.id),
        plugin_id: Number(r.plugin_id),
        chat_id: Number(r.chat_id),
        message_id: Number(r.message_id),
        codigo: r.codigo,
        titulo: r.titulo,
      }));
    };
    /** Confirmations (texts carrying a task code) sent by these bots, in order. */
    const confirmations = (bs: WorldBot[]) => bs.flatMap((b) => fake.sentMessages(b.token)).filter((m) => CODE_RE.test(m.text));
    const codeOf = (text: string) => CODE_RE.exec(text)![1]!;

    it("every update answered 200 has its task; none doubled; every confirmation sent once, in order", { timeout: 240_000 }, async () => {
      // Confirmations must not go out before the kill: with the Bot API refusing connections,
      // nothing can have been sent (a refused connection is unambiguous).
      await fake.stop();
      const items: Outgoing[] = [];
      for (let r = 0; r < PER_CHAT; r++) {
        for (const bot of bots) items.push({ bot, update: fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: `kill9 ${bot.pluginId} #${r}` }) });
      }
      const first = server!;
      let acked = 0;
      const results = await deliverAll(fake, items, {
        concurrency: IN_FLIGHT,
        onResult: (d) => {
          if (d.result.status === 200 && ++acked === KILL_AFTER) first.kill("SIGKILL");
        },
      });
      const exit = await first.exited;
      assert.equal(exit.signal, "SIGKILL", "the server was killed by SIGKILL");
      const ackedUpdates = results.filter((d) => d.result.status === 200);
      const notAcked = results.filter((d) => d.result.status !== 200);
      assert.ok(
        ackedUpdates.length >= KILL_AFTER && notAcked.length > 0,
        `the kill came in the middle (acknowledged ${ackedUpdates.length} of ${items.length})`,
      );
      for (const d of notAcked) assert.ok(d.result.status === 0 || d.result.status >= 500, `a refused update is not answered 2xx/4xx: ${d.result.status}`);

      // Right after the crash, before any restart: a 200 meant "committed".
      const key = (pluginId: number, messageId: number) => `${pluginId}:${messageId}`;
      const committedAtCrash = await tasksOf(pluginIds());
      const atCrash = new Set(committedAtCrash.map((t) => key(t.plugin_id, t.message_id)));
      const missing = ackedUpdates.filter((d) => !atCrash.has(key(d.bot.pluginId, messageIdOf(d.update))));
      assert.deepEqual(
        missing.map((d) => messageIdOf(d.update)),
        [],
        "every update answered 200 has its task",
      );
      assert.equal(fake.sentMessages().filter((m) => CODE_RE.test(m.text)).length, 0, "no confirmation could be sent before the kill");
      // Sends the dead process had claimed (status "sending"): SQLite releases them when the next
      // server starts; PostgreSQL (where other workers may be alive) only when their lease ends.
      const claimedAtCrash = (
        await rt.store.db.selectFrom("outgoing_messages").select("id").where("plugin_id", "in", pluginIds()).where("status", "=", "sending").execute()
      ).length;
      const restartedAt = Date.now();

      // Restart on the same database and port (where the webhooks point), Bot API back.
      server = await startServerProcess({ env, port, extraEnv: CRASH_ENV });
      await fake.restart();
      // Redeliver what was not answered 200 (as Telegram does) and, to be hard on it, every
      // other update that WAS answered 200 as well, interleaved in each chat's order.
      const ackedSet = new Set(ackedUpdates);
      let everyOther = 0;
      const again: Delivered[] = results.filter((d) => !ackedSet.has(d) || everyOther++ % 2 === 0);
      const byOrder = new Map(items.map((it, i) => [it.update, i]));
      again.sort((a, b) => byOrder.get(a.update)! - byOrder.get(b.update)!);
      const redelivered = await deliverAll(
        fake,
        again.map(({ bot, update }) => ({ bot, update })),
        { concurrency: IN_FLIGHT },
      );
      const refused = redelivered.filter((d) => d.result.status !== 200);
      assert.deepEqual(
        refused.map((d) => d.result.status),
        [],
        "every redelivery is answered 200",
      );

      // Exactly one task per message.
      const tasks = await tasksOf(pluginIds());
      const perMessage = new Map<string, TaskKey[]>();
      for (const t of tasks) perMessage.set(key(t.plugin_id, t.message_id), [...(perMessage.get(key(t.plugin_id, t.message_id)) ?? []), t]);
      const doubled = [...perMessage.values()].filter((ts) => ts.length > 1);
      assert.equal(doubled.length, 0, `no task doubled: ${JSON.stringify(doubled)}`);
      for (const it of items) {
        const ts = perMessage.get(key(it.bot.pluginId, messageIdOf(it.update)));
        assert.equal(ts?.length, 1, `message ${messageIdOf(it.update)} of plugin ${it.bot.pluginId} has one task`);
        assert.equal(ts[0]!.titulo, (it.update.message as { text: string }).text);
      }
      assert.equal(tasks.length, items.length);

      // One outgoing confirmation per task, and each sent exactly once.
      const outgoing = await rt.store.db
        .selectFrom("outgoing_messages")
        .select(["task_id"])
        .where("plugin_id", "in", pluginIds())
        .where("task_id", "is not", null)
        .execute();
      assert.equal(outgoing.length, tasks.length, "one outgoing confirmation per task");
      assert.equal(new Set(outgoing.map((o) => Number(o.task_id))).size, tasks.length);
      // PostgreSQL keeps a dead worker's claims until their lease (60 s) ends: allow for that.
      await fake.waitFor(() => confirmations(bots).length >= tasks.length, 120_000, `${tasks.length} confirmations sent`);
      const drainedInS = ((Date.now() - restartedAt) / 1000).toFixed(1);
      await sleep(1500); // anything extra would show up now
      const sent = confirmations(bots);
      const perCode = new Map<string, number>();
      for (const m of sent) perCode.set(codeOf(m.text), (perCode.get(codeOf(m.text)) ?? 0) + 1);
      const twice = [...perCode].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], "no confirmation sent twice");
      assert.deepEqual([...perCode.keys()].sort(), tasks.map((t) => t.codigo).sort(), "every task's code confirmed");
      const unsent = await rt.store.db
        .selectFrom("outgoing_messages")
        .select(["id", "status"])
        .where("plugin_id", "in", pluginIds())
        .where("status", "!=", "sent")
        .execute();
      assert.deepEqual(unsent, [], "every outgoing message ends sent");

      // Order per chat: the confirmations of a chat answer its messages in order.
      const taskByCode = new Map(tasks.map((t) => [t.codigo, t]));
      for (const bot of bots) {
        const mine = confirmations([bot]);
        const replyTo = mine.map((m) => m.reply_to_message_id!);
        assert.deepEqual(
          replyTo,
          mine.map((m) => taskByCode.get(codeOf(m.text))!.message_id),
          "each confirmation answers its own message",
        );
        assert.deepEqual(
          replyTo,
          [...replyTo].sort((a, b) => a - b),
          `order kept in chat ${bot.chatId}`,
        );
        assert.ok(mine.every((m) => m.chat_id === bot.chatId));
      }

      const duplicates = doubled.length + twice.length;
      console.log(
        `kill-9 (${target.name}): delivered ${items.length}, acknowledged ${ackedUpdates.length} before kill, tasks ${tasks.length}, duplicates ${duplicates}, confirmations ${sent.length}`,
      );
      console.log(
        `kill-9 (${target.name}) details: committed at the crash ${committedAtCrash.length} (of which answered 200: ${ackedUpdates.length}), redelivered ${again.length} (${again.length - notAcked.length} of them already acknowledged), chats ${CHATS}, in flight ${IN_FLIGHT}, sends claimed by the dead process ${claimedAtCrash}, all confirmations out ${drainedInS} s after the restart`,
      );
    });

    it("the same update delivered to several requests at once: one task, one confirmation", { timeout: 60_000 }, async () => {
      const bot = bots[0]!;
      const update = fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: "a la vez" });
      const answers = await Promise.all(Array.from({ length: 8 }, () => fake.deliverUpdate(bot.token, update)));
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(8).fill(200),
      );
      const tasks = (await tasksOf([bot.pluginId])).filter((t) => t.message_id === messageIdOf(update));
      assert.equal(tasks.length, 1);
      await fake.waitFor(() => confirmations([bot]).some((m) => m.text.includes(tasks[0]!.codigo)), 20_000, "confirmation sent");
      await sleep(1200);
      assert.equal(confirmations([bot]).filter((m) => m.text.includes(tasks[0]!.codigo)).length, 1);
      const marks = await rt.store.db
        .selectFrom("processed_updates")
        .select(sql<number>`count(*)`.as("n"))
        .where("plugin_id", "=", bot.pluginId)
        .where("update_id", "=", update.update_id as number)
        .executeTakeFirstOrThrow();
      assert.equal(Number(marks.n), 1);
    });

    it("the same message under two update_ids: one task (keyed on plugin, chat, message_id)", { timeout: 60_000 }, async () => {
      const bot = bots[1]!;
      const u1 = fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: "mismo mensaje" });
      const u2 = { ...u1, update_id: (u1.update_id as number) + 50_000 };
      const u3 = { ...u1, update_id: (u1.update_id as number) + 60_000 };
      assert.equal((await fake.deliverUpdate(bot.token, u1)).status, 200);
      // Later, and also two at once.
      const later = await Promise.all([fake.deliverUpdate(bot.token, u2), fake.deliverUpdate(bot.token, u3)]);
      assert.deepEqual(
        later.map((a) => a.status),
        [200, 200],
      );
      const tasks = (await tasksOf([bot.pluginId])).filter((t) => t.message_id === messageIdOf(u1));
      assert.equal(tasks.length, 1);
      await fake.waitFor(() => confirmations([bot]).some((m) => m.text.includes(tasks[0]!.codigo)), 20_000, "confirmation sent");
      await sleep(1200);
      assert.equal(confirmations([bot]).filter((m) => m.reply_to_message_id === messageIdOf(u1)).length, 1);
    });

    it("an update_id reused for a different message (Telegram restarts update_id): both get tasks", { timeout: 60_000 }, async () => {
      const bot = bots[2]!;
      const old = fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: "antes del silencio" });
      assert.equal((await fake.deliverUpdate(bot.token, old)).status, 200);
      const fresh = { ...fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: "después del silencio" }), update_id: old.update_id };
      assert.equal((await fake.deliverUpdate(bot.token, fresh)).status, 200);
      // And the new one redelivered is still one task.
      assert.equal((await fake.deliverUpdate(bot.token, fresh)).status, 200);
      const tasks = await tasksOf([bot.pluginId]);
      const a = tasks.filter((t) => t.message_id === messageIdOf(old));
      const b = tasks.filter((t) => t.message_id === messageIdOf(fresh));
      assert.equal(a.length, 1);
      assert.equal(b.length, 1);
      assert.equal(b[0]!.titulo, "después del silencio");
      await fake.waitFor(() => [a[0]!, b[0]!].every((t) => confirmations([bot]).some((m) => m.text.includes(t.codigo))), 20_000, "both confirmations sent");
      await sleep(1200);
      for (const t of [a[0]!, b[0]!]) assert.equal(confirmations([bot]).filter((m) => m.text.includes(t.codigo)).length, 1);
    });
  });
}
