// A slow Bot API must not make a chat see its confirmation twice. Telegram delivers a message
// when it gets the request, whatever happens to its answer; a send whose request left and got no
// answer in time is an unknown outcome, not a failure, and is never sent again. Only a request
// that surely never left (connection refused) is retried. The send timeout is 1 s here
// (SEND_TIMEOUT_SECONDS) so "longer than the timeout" is quick to reach.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { runCli } from "../support/cli.ts";
import { until } from "../support/wait.ts";

const CODE_RE = /\[(T-[0-9A-Z]+)\]/;

for (const target of dbTargets()) {
  describe(`outbox: unknown outcomes when the Bot API is slow (${target.name})`, () => {
    let stack: Stack;
    let chatSeq = 9100;
    before(async () => {
      stack = await startStack(target, { env: { SEND_TIMEOUT_SECONDS: "1" } });
    });
    after(() => stack.stop());

    async function linkedBot(): Promise<TestBot & { chatId: number }> {
      const bot = await stack.addBot();
      const chatId = chatSeq++;
      await stack.link(bot, chatId);
      return { ...bot, chatId };
    }
    /** The chat's copies of the confirmation for the task made from `text`. */
    async function copiesOf(bot: TestBot, text: string): Promise<number> {
      const task = (await stack.tasks(bot.pluginId)).find((t) => t.titulo === text);
      if (!task) return 0;
      return stack.fake.sentMessages(bot.token).filter((m) => CODE_RE.exec(m.text)?.[1] === task.codigo).length;
    }
    async function messageRow(bot: TestBot, text: string) {
      const task = (await stack.tasks(bot.pluginId)).find((t) => t.titulo === text);
      if (!task) return undefined;
      return stack.rt.store.db
        .selectFrom("outgoing_messages")
        .selectAll()
        .where("plugin_id", "=", bot.pluginId)
        .where("task_id", "=", task.id)
        .executeTakeFirst();
    }

    it("the API answers later than the timeout: the chat gets the confirmation once, the message is 'unknown' in messages list", {
      timeout: 60_000,
    }, async () => {
      const { fake } = stack;
      const bot = await linkedBot();
      fake.setFault({ kind: "answerLate" });
      try {
        const r = await stack.sendText(bot, bot.chatId, "nota lenta");
        assert.equal(r.status, 200);
        // Telegram got it (the fake delivered it) but holds the answer past our 1 s timeout. Wait
        // until the message's row is closed, or a second copy shows the send was repeated.
        await until(
          async () => {
            const row = await messageRow(bot, "nota lenta");
            return (row !== undefined && !["pending", "sending"].includes(row.status)) || (await copiesOf(bot, "nota lenta")) > 1;
          },
          "the slow send settles",
          40_000,
        );
        assert.equal(await copiesOf(bot, "nota lenta"), 1, "the chat sees the confirmation once");
        const row = (await messageRow(bot, "nota lenta"))!;
        assert.equal(row.status, "unknown");
        assert.equal(Number(row.attempts), 1);
        assert.match(row.last_error ?? "", /not resent/);
      } finally {
        fake.setFault(null);
      }

      // Telegram recovers: the next message goes out normally, and the first one is still not
      // sent a second time (it is closed; nothing claims it again).
      await stack.sendText(bot, bot.chatId, "nota después");
      await until(async () => (await messageRow(bot, "nota después"))?.status === "sent", "the next confirmation recorded as sent", 20_000);
      assert.equal(await copiesOf(bot, "nota lenta"), 1);
      assert.equal(await copiesOf(bot, "nota después"), 1);

      // The owner sees it, with the reason, in `messages list`.
      const env = {
        DATABASE_URL: stack.database.url,
        DATA_DIR: stack.database.dataDir,
        FERNET_KEYS: stack.fernetKey,
        LOG_LEVEL: "silent",
      };
      const listed = await runCli(["messages", "list", "--status", "unknown", "--plugin", String(bot.pluginId), "--json"], { env });
      assert.equal(listed.code, 0, listed.stderr);
      const rows = listed.json<Array<{ status: string; last_error: string }>>();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, "unknown");
      assert.match(rows[0]!.last_error, /outcome unknown/);
      const text = await runCli(["messages", "list", "--plugin", String(bot.pluginId)], { env });
      assert.match(text.stdout, /unknown\tchat \d+.*outcome unknown, not resent/);
    });

    it("a slow answer within the timeout is a sent message, once", { timeout: 30_000 }, async () => {
      const { fake } = stack;
      const bot = await linkedBot();
      fake.setFault({ kind: "answerLate" });
      try {
        await stack.sendText(bot, bot.chatId, "nota tardía");
        await until(() => fake.hungCount === 1, "the send is held", 10_000);
        fake.setFault(null); // answered now, within the send timeout
      } finally {
        fake.setFault(null);
      }
      await until(async () => (await messageRow(bot, "nota tardía"))?.status === "sent", "recorded as sent", 10_000);
      assert.equal(await copiesOf(bot, "nota tardía"), 1);
    });

    it("connection refused (nothing sent) is retried and delivered once when the API is back", { timeout: 60_000 }, async () => {
      const { fake } = stack;
      const bot = await linkedBot();
      await fake.stop();
      // Delivering the update is the fake's own client: it works with the API's port closed.
      assert.equal((await stack.sendText(bot, bot.chatId, "nota sin red")).status, 200);
      await until(
        async () => {
          const row = await messageRow(bot, "nota sin red");
          return row !== undefined && Number(row.attempts) >= 2;
        },
        "retried while refused",
        20_000,
      );
      const refused = (await messageRow(bot, "nota sin red"))!;
      assert.equal(refused.status, "pending");
      assert.match(refused.last_error ?? "", /ECONNREFUSED \(not sent\)/);
      await fake.restart();
      await until(async () => (await messageRow(bot, "nota sin red"))?.status === "sent", "delivered after the outage", 30_000);
      assert.equal(await copiesOf(bot, "nota sin red"), 1);
    });

    it("a connection reset after the request was written is unknown too: not resent", { timeout: 30_000 }, async () => {
      const { fake } = stack;
      const bot = await linkedBot();
      fake.failNext(1, { kind: "reset" });
      await stack.sendText(bot, bot.chatId, "nota cortada");
      await until(
        async () => {
          const row = await messageRow(bot, "nota cortada");
          return row !== undefined && !["pending", "sending"].includes(row.status);
        },
        "the reset send settles",
        20_000,
      );
      const row = (await messageRow(bot, "nota cortada"))!;
      assert.equal(row.status, "unknown");
      assert.match(row.last_error ?? "", /ECONNRESET/);
      assert.equal(fake.callsOf("sendMessage", bot.token).filter((c) => CODE_RE.test(String(c.params.text))).length, 1, "one try only");
    });

    // Last: it stops the stack's sender.
    it("stopping while a send waits on a hanging API ends it after the grace, recorded as unknown, not resent", { timeout: 30_000 }, async () => {
      const { fake } = stack;
      const bot = await linkedBot();
      fake.setFault({ kind: "answerLate" });
      try {
        await stack.sendText(bot, bot.chatId, "nota al parar");
        await until(() => fake.hungCount === 1, "the send is held", 10_000);
        await stack.running.sender!.stop(0); // no grace: the held send is ended at once
        const row = (await messageRow(bot, "nota al parar"))!;
        assert.equal(row.status, "unknown");
        assert.match(row.last_error ?? "", /EABORTED/);
        assert.equal(await copiesOf(bot, "nota al parar"), 1);
      } finally {
        fake.setFault(null);
      }
    });
  });
}
