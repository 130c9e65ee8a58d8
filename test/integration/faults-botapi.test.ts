// The Bot API goes away (connection refused), comes back sick (500s), then rate-limits (429 with
// retry_after), then recovers: the webhook never waits on it, and every confirmation arrives,
// none twice, in order per chat. Permanent errors (403 blocked) end the message as failed after
// one attempt instead of being retried forever.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { sleep, until } from "../support/wait.ts";

const CHATS = 2;
const PER_CHAT = 5;
const CODE_RE = /\[(T-[0-9A-Z]+)\]/;
/** Each phase lasts at least this long, and until every chat's next send has hit the fault. */
const PHASE_MIN_MS = 2000;

for (const target of dbTargets()) {
  describe(`faults: Bot API outage (${target.name})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(target);
    });
    after(() => stack.stop());

    const confirmations = (bot: TestBot) => stack.fake.sentMessages(bot.token).filter((m) => CODE_RE.test(m.text));
    const codeOf = (text: string) => CODE_RE.exec(text)![1]!;

    it("connection refused, then 500s, then 429s: every confirmation arrives once, in order", { timeout: 120_000 }, async () => {
      const { fake } = stack;
      const bots: Array<TestBot & { chatId: number }> = [];
      for (let i = 0; i < CHATS; i++) {
        const bot = await stack.addBot();
        await stack.link(bot, 8100 + i);
        bots.push({ ...bot, chatId: 8100 + i });
      }
      const pluginIds = bots.map((b) => b.pluginId);
      const sendCalls = (status: number, bot: TestBot) => fake.callsOf("sendMessage", bot.token).filter((c) => c.status === status).length;
      /** Wait at least PHASE_MIN_MS, and until every chat saw `seen(bot)` true. */
      const phase = async (what: string, seen: (bot: TestBot) => boolean | Promise<boolean>) => {
        const started = Date.now();
        for (;;) {
          const all = (await Promise.all(bots.map(seen))).every(Boolean);
          if (all && Date.now() - started >= PHASE_MIN_MS) return Date.now() - started;
          if (Date.now() - started > 30_000) throw new Error(`phase "${what}" did not reach every chat within 30 s`);
          await sleep(50);
        }
      };

      // Phase A: the Bot API refuses connections. The webhook answers 200 all the same: it only
      // writes to the database, the confirmation is the sender's business.
      await fake.stop();
      const delivered: Array<{ bot: TestBot; messageId: number }> = [];
      for (let r = 0; r < PER_CHAT; r++) {
        for (const bot of bots) {
          const res = await stack.sendText(bot, bot.chatId, `apagón ${r}`);
          assert.equal(res.status, 200, "the webhook does not wait on the Bot API");
          delivered.push({ bot, messageId: (res.update.message as { message_id: number }).message_id });
        }
      }
      const tasks = (await stack.tasks()).filter((t) => pluginIds.includes(t.plugin_id));
      assert.equal(tasks.length, CHATS * PER_CHAT, "every message has its task while the Bot API is down");
      assert.equal(fake.sentMessages().filter((m) => CODE_RE.test(m.text)).length, 0);
      const refusedAttempts = async (bot: TestBot) => {
        const rows = await stack.rt.store.db
          .selectFrom("outgoing_messages")
          .select(["attempts", "last_error"])
          .where("plugin_id", "=", bot.pluginId)
          .where("task_id", "is not", null)
          .execute();
        return rows.some((r) => Number(r.attempts) > 0 && /network/.test(r.last_error ?? ""));
      };
      const msA = await phase("connection refused", refusedAttempts);

      // Phase B: back, but answering 500.
      fake.setFault({ kind: "status", status: 500 });
      await fake.restart();
      const msB = await phase("500s", (bot) => sendCalls(500, bot) > 0);

      // Phase C: 429 Too Many Requests, retry_after 1.
      fake.setFault({ kind: "retryAfter", seconds: 1 });
      const msC = await phase("429s", (bot) => sendCalls(429, bot) > 0);

      // Healthy again.
      fake.setFault(null);
      const total = tasks.length;
      await fake.waitFor(() => bots.reduce((n, b) => n + confirmations(b).length, 0) >= total, 60_000, `${total} confirmations`);
      await sleep(1500); // a duplicate would show up now

      const codes = tasks.map((t) => t.codigo).sort();
      const sent = bots.flatMap((b) => confirmations(b));
      const perCode = new Map<string, number>();
      for (const m of sent) perCode.set(codeOf(m.text), (perCode.get(codeOf(m.text)) ?? 0) + 1);
      const twice = [...perCode].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], "no confirmation sent twice");
      assert.deepEqual([...perCode.keys()].sort(), codes, "every confirmation arrived");
      for (const bot of bots) {
        const replyTo = confirmations(bot).map((m) => m.reply_to_message_id);
        const expected = delivered.filter((d) => d.bot === bot).map((d) => d.messageId);
        assert.deepEqual(replyTo, expected, `order kept in chat ${(bot as { chatId: number }).chatId}`);
      }
      const notSent = await stack.rt.store.db
        .selectFrom("outgoing_messages")
        .select(["id", "status"])
        .where("plugin_id", "in", pluginIds)
        .where("status", "!=", "sent")
        .execute();
      assert.deepEqual(notSent, []);

      const k429 = bots.reduce((n, b) => n + sendCalls(429, b), 0);
      const k500 = bots.reduce((n, b) => n + sendCalls(500, b), 0);
      assert.ok(k429 > 0 && k500 > 0);
      console.log(`outage (${target.name}): messages ${total}, delivered ${perCode.size}, duplicates ${twice.length}, 429s seen ${k429}`);
      console.log(`outage (${target.name}) details: chats ${CHATS}, refused phase ${msA} ms, 500 phase ${msB} ms (${k500} answered 500), 429 phase ${msC} ms`);
    });

    it("a permanent error (403 blocked by the user) ends the message as failed after one attempt", { timeout: 60_000 }, async () => {
      const { fake } = stack;
      const bot = await stack.addBot();
      await stack.link(bot, 8200);
      fake.blockChat(bot.token, 8200);
      const before = fake.callsOf("sendMessage", bot.token).length;
      const r = await stack.sendText(bot, 8200, "me bloqueaste");
      assert.equal(r.status, 200);
      const tasks = await stack.tasks(bot.pluginId);
      assert.equal(tasks.length, 1, "the task is created all the same");
      const row = () =>
        stack.rt.store.db
          .selectFrom("outgoing_messages")
          .selectAll()
          .where("plugin_id", "=", bot.pluginId)
          .where("task_id", "=", tasks[0]!.id)
          .executeTakeFirstOrThrow();
      await until(async () => (await row()).status === "failed", "the message ends failed", 20_000);
      const failed = await row();
      assert.equal(failed.status, "failed");
      assert.match(failed.last_error ?? "", /403/);
      await sleep(1500); // no retry comes later
      const attempts = fake.callsOf("sendMessage", bot.token).slice(before);
      assert.equal(attempts.length, 1, "exactly one sendMessage attempt");
      assert.equal(attempts[0]!.status, 403);
      assert.equal((await row()).status, "failed");
    });
  });
}
