// A guessing attack on the verification code, walked through HTTP: a chat that keeps sending
// wrong `/start JOE-XXXX` codes is stopped after LIMITS.chatFailures (and told so), other chats
// keep guessing until the bot-wide lockout (LIMITS.botFailures) refuses even the right code for
// everyone, and `plugin unlink` (a new code) lifts the lockout. Assertions are on the database
// (outgoing messages, plugin row): the sender paces replies at 1 per second per chat.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { LIMITS } from "../../src/webhook/decide.ts";
import { unlinkPlugin, getPluginRow, toPublic } from "../../src/plugins/store.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

for (const target of dbTargets()) {
  describe(`brute force on the verification code (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    let nextChat = 820_000;
    const freshChat = () => ++nextChat;

    function wrongCode(): string {
      for (;;) {
        const code = "JOE-" + Array.from({ length: 4 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join("");
        if (code !== bot.codigo.toUpperCase()) return code;
      }
    }

    /** Send `/start <code>` from chatId; the webhook must answer 200. Returns what the service decided. */
    async function start(chatId: number, code: string): Promise<string> {
      const r = await stack.sendText(bot, chatId, `/start ${code}`);
      assert.equal(r.status, 200, r.body);
      const row = await stack.rt.store.db
        .selectFrom("processed_updates")
        .select("outcome")
        .where("plugin_id", "=", bot.pluginId)
        .where("update_id", "=", r.update.update_id as number)
        .executeTakeFirstOrThrow();
      return row.outcome;
    }

    const plugin = () => getPluginRow(stack.rt.store.db, bot.pluginId);
    const repliesTo = async (chatId: number) =>
      await stack.rt.store.db
        .selectFrom("outgoing_messages")
        .select(["kind", "text"])
        .where("plugin_id", "=", bot.pluginId)
        .where("chat_id", "=", chatId)
        .orderBy("id")
        .execute();

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
    });
    after(() => stack.stop());

    let chatLockAfter = 0;
    let botLockAfter = 0;
    const attacker = freshChat();

    it("one chat: refused after LIMITS.chatFailures wrong codes, even with the right code, and told so", async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < LIMITS.chatFailures + 3; i++) {
        const outcome = await start(attacker, wrongCode());
        outcomes.push(outcome);
        if (outcome.startsWith("wrong_code")) chatLockAfter++;
        else break;
      }
      assert.equal(chatLockAfter, LIMITS.chatFailures, `outcomes: ${outcomes.join(", ")}`);
      assert.match(outcomes.at(-1)!, /chat_locked$/);

      // The right code from the locked chat: refused.
      assert.match(await start(attacker, bot.codigo), /chat_locked$/);
      const row = await plugin();
      assert.equal(Boolean(row.verificado), false);
      assert.equal(row.chat_id_verificado, null);
      // Guesses from a locked chat do not even count: the bot-wide counter holds the 5 real tries.
      await start(attacker, wrongCode());
      assert.equal(Number((await plugin()).intentos_fallidos), LIMITS.chatFailures);

      // What the chat was told: tries left counting down, then "Demasiados intentos".
      const texts = (await repliesTo(attacker)).map((m) => m.text);
      assert.equal(texts.length, LIMITS.chatFailures, texts.join(" | "));
      for (let i = 0; i < LIMITS.chatFailures - 1; i++) assert.match(texts[i]!, new RegExp(`Te quedan ${LIMITS.chatFailures - 1 - i} intento`));
      assert.match(texts.at(-1)!, /Demasiados intentos/);
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(bot.token).some((m) => m.chat_id === attacker && m.text.includes("Te quedan")),
        10_000,
        "first reply to the attacker",
      );
    });

    it("many chats: the bot locks after LIMITS.botFailures wrong codes in all; the right code is refused for everyone", async () => {
      let guesses = chatLockAfter; // the first chat's tries count towards the bot's total
      let lockedBy: number | undefined;
      const chats: number[] = [];
      for (let c = 0; c < 20 && lockedBy === undefined; c++) {
        const chat = freshChat();
        chats.push(chat);
        // Each stays under its own chat limit, so only the bot-wide limit can stop them.
        for (let i = 0; i < LIMITS.chatFailures - 1; i++) {
          const outcome = await start(chat, wrongCode());
          assert.match(outcome, /^wrong_code/, `chat ${chat} try ${i + 1}`);
          guesses++;
          if ((await plugin()).bloqueado_en !== null) {
            assert.equal(outcome, "wrong_code:bot_locked");
            lockedBy = chat;
            break;
          }
        }
      }
      assert.ok(lockedBy !== undefined, "the bot never locked");
      botLockAfter = guesses;
      assert.equal(botLockAfter, LIMITS.botFailures);
      assert.equal(toPublic(await plugin(), stack.rt.store.seam).bloqueado, true);
      assert.match((await repliesTo(lockedBy)).at(-1)!.text, /bloqueada/);

      // The right code, from a chat that never guessed and from one that guessed: both refused.
      const newcomer = freshChat();
      assert.equal(await start(newcomer, bot.codigo), "warned:bot_locked");
      assert.match(await start(chats[0]!, bot.codigo), /bot_locked$/);
      const row = await plugin();
      assert.equal(Boolean(row.verificado), false);
      assert.equal(row.chat_id_verificado, null);
      // The newcomer is told the bot is locked (and the message really reaches Telegram).
      assert.deepEqual(
        (await repliesTo(newcomer)).map((m) => m.kind),
        ["bot_locked"],
      );
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(bot.token).some((m) => m.chat_id === newcomer && /bloqueada/.test(m.text)),
        10_000,
        "lockout notice to the newcomer",
      );
      // A locked bot makes no tasks either.
      assert.equal((await stack.tasks(bot.pluginId)).length, 0);
      process.stdout.write(`brute-force (${target.name}): guesses before chat lockout ${chatLockAfter}, guesses before bot lockout ${botLockAfter}\n`);
    });

    it("plugin unlink issues a new code and lifts the lockout; the old code is dead, the new one links", async () => {
      const oldCode = bot.codigo;
      const p = await unlinkPlugin(stack.rt.store.db, stack.rt.store.seam, bot.pluginId);
      assert.notEqual(p.codigo_verificacion, oldCode);
      assert.match(p.codigo_verificacion, /^JOE-[A-Z0-9]{4}$/);
      assert.equal(p.bloqueado, false);
      assert.equal(Number((await plugin()).intentos_fallidos), 0);

      assert.match(await start(freshChat(), oldCode), /^wrong_code/);
      bot = { ...bot, codigo: p.codigo_verificacion };
      // Even the chat that was locked out may now link with the new code.
      assert.equal(await start(attacker, bot.codigo), "linked");
      const row = await plugin();
      assert.equal(Boolean(row.verificado), true);
      assert.equal(Number(row.chat_id_verificado), attacker);
      assert.equal((await repliesTo(attacker)).at(-1)!.kind, "linked");
      const note = await stack.sendText(bot, attacker, "ya vinculado");
      assert.equal(note.status, 200);
      assert.deepEqual(
        (await stack.tasks(bot.pluginId)).map((t) => t.titulo),
        ["ya vinculado"],
      );
    });
  });
}
