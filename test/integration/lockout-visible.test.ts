// Issue 10, item 6: a /start lockout is told and shown, and strangers cannot lock a bot for good.
// Walked through HTTP on a running server with the fake Bot API, read back with the real CLI:
//   - a chat locked after LIMITS.chatFailures wrong codes is told until when (and the notice
//     reaches Telegram); a try during the lock is answered again once a minute has passed, with
//     the time; `plugin show` (human and --json) lists the chat's lock with its end;
//   - strangers locking a fresh bot with LIMITS.botFailures wrong codes are told until when;
//     `plugin show` says linking is locked, until when, and how to lift it;
//   - when the lock has run out, the owner links with the right code — no `plugin unlink` needed.
// Time passing is simulated by moving the stored times back (the server reads them in each
// decision): no sleeps, no waiting a real hour.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { runCli } from "../support/cli.ts";
import { LIMITS } from "../../src/webhook/decide.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CLOCK_RE = /\d\d:\d\d UTC/;

for (const target of dbTargets()) {
  describe(`a /start lockout is told and shown, and runs out (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    let nextChat = 850_000;
    const freshChat = () => ++nextChat;
    const locked = freshChat();

    function wrongCode(): string {
      for (;;) {
        const code = "JOE-" + Array.from({ length: 4 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join("");
        if (code !== bot.codigo.toUpperCase()) return code;
      }
    }

    /** `/start <code>` from chatId through the webhook; returns the outcome the service recorded. */
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

    const replies = async (chatId: number) =>
      await stack.rt.store.db
        .selectFrom("outgoing_messages")
        .select(["kind", "text"])
        .where("plugin_id", "=", bot.pluginId)
        .where("chat_id", "=", chatId)
        .orderBy("id")
        .execute();
    const cli = (args: string[]) =>
      runCli(args, { env: { DATABASE_URL: stack.database.url, DATA_DIR: stack.database.dataDir, FERNET_KEYS: stack.fernetKey, LOG_LEVEL: "silent" } });
    async function show(): Promise<{ json: any; human: string }> {
      const [j, h] = await Promise.all([cli(["plugin", "show", String(bot.pluginId), "--json"]), cli(["plugin", "show", String(bot.pluginId)])]);
      assert.equal(j.code, 0, j.stderr);
      assert.equal(h.code, 0, h.stderr);
      return { json: j.json(), human: h.stdout };
    }
    /** A minute (and more) passes for this chat's warnings: the next try may be answered again. */
    const aMinutePasses = (chatId: number) =>
      stack.rt.store.db
        .updateTable("chat_state")
        .set((eb) => ({ last_warned_at: eb("last_warned_at", "-", LIMITS.warnEveryMs + 1000) }))
        .where("plugin_id", "=", bot.pluginId)
        .where("chat_id", "=", chatId)
        .execute();

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
    });
    after(() => stack.stop());

    it("a chat locked out is told until when, again after a minute, and plugin show lists its lock", async () => {
      for (let i = 0; i < LIMITS.chatFailures; i++) assert.equal(await start(locked, wrongCode()), "wrong_code");
      const lockNotice = (await replies(locked)).at(-1)!.text;
      assert.match(lockNotice, /Demasiados intentos/);
      assert.match(lockNotice, CLOCK_RE, "the notice says from when the chat may try again");
      assert.match(lockNotice, /\(en 1[45] min\)/);

      // Within the minute: the right code is refused without a reply (no amplifier)…
      assert.equal(await start(locked, bot.codigo), "warn_suppressed:chat_locked");
      assert.equal((await replies(locked)).length, LIMITS.chatFailures);
      // …after it, the next try is answered with the time again, and the notice reaches Telegram.
      await aMinutePasses(locked);
      assert.equal(await start(locked, bot.codigo), "warned:chat_locked");
      const again = (await replies(locked)).at(-1)!;
      assert.equal(again.kind, "chat_locked");
      assert.match(again.text, CLOCK_RE);
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(bot.token).some((m) => m.chat_id === locked && m.text === again.text),
        15_000,
        "the lock notice sent to Telegram",
      );

      const { json, human } = await show();
      assert.equal(json.bloqueado, false, "one chat's lock is not the bot's");
      assert.equal(json.intentos_fallidos, LIMITS.chatFailures);
      assert.equal(json.chats_bloqueados.length, 1);
      const lock = json.chats_bloqueados[0];
      assert.equal(lock.chat_id, locked);
      assert.equal(lock.intentos_fallidos, LIMITS.chatFailures);
      const until = Date.parse(lock.bloqueado_hasta);
      assert.ok(until > Date.now() && until <= Date.now() + LIMITS.chatWindowMs, lock.bloqueado_hasta);
      assert.match(human, new RegExp(`chats locked out\\s+${locked} until ${lock.bloqueado_hasta}`));
      assert.match(human, /linking locked\s+no/);
    });

    let lockedAt = 0;
    it("strangers lock a fresh bot's linking: they are told until when, and plugin show says so", async () => {
      let guesses = LIMITS.chatFailures;
      let last = "";
      let lastChat = 0;
      while (guesses < LIMITS.botFailures) {
        lastChat = freshChat();
        for (let i = 0; i < LIMITS.chatFailures - 1 && guesses < LIMITS.botFailures; i++, guesses++) last = await start(lastChat, wrongCode());
      }
      assert.equal(last, "wrong_code:bot_locked");
      const notice = (await replies(lastChat)).at(-1)!;
      assert.equal(notice.kind, "bot_locked");
      assert.match(notice.text, /bloqueada .* hasta las \d\d:\d\d UTC \(en 1 h\)/);
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(bot.token).some((m) => m.chat_id === lastChat && m.text === notice.text),
        15_000,
        "the bot-lock notice sent to Telegram",
      );

      // The owner, from a chat that never guessed, with the right code: refused, told until when.
      const owner = freshChat();
      assert.equal(await start(owner, bot.codigo), "warned:bot_locked");
      assert.match((await replies(owner)).at(-1)!.text, /hasta las \d\d:\d\d UTC .*plugin unlink/);

      const { json, human } = await show();
      assert.equal(json.bloqueado, true);
      assert.equal(json.intentos_fallidos, LIMITS.botFailures);
      lockedAt = Date.parse(json.bloqueado_en);
      assert.equal(Date.parse(json.bloqueado_hasta) - lockedAt, LIMITS.botLockBaseMs, "the first lock lasts an hour");
      assert.match(human, new RegExp(`linking locked\\s+yes, until ${json.bloqueado_hasta} .*plugin unlink`));
      assert.match(human, new RegExp(`wrong codes\\s+${LIMITS.botFailures} since`));
    });

    it("once the lock has run out, the owner links with the right code (no unlink needed)", async () => {
      // Read from the row, not from the previous test: the lock the strangers' guesses left.
      const stored = await stack.rt.store.db.selectFrom("plugin_configs").select("bloqueado_en").where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
      assert.notEqual(stored.bloqueado_en, null, "the bot was locked");
      lockedAt = Number(stored.bloqueado_en);
      // The hour passes.
      await stack.rt.store.db
        .updateTable("plugin_configs")
        .set({ bloqueado_en: lockedAt - LIMITS.botLockBaseMs - 1000 })
        .where("id", "=", bot.pluginId)
        .execute();
      const { json } = await show();
      assert.equal(json.bloqueado, false);
      assert.equal(json.bloqueado_hasta, null);

      const owner = freshChat();
      assert.equal(await start(owner, bot.codigo), "linked");
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(bot.token).some((m) => m.chat_id === owner && /vinculado con éxito/.test(m.text)),
        15_000,
        "the link confirmation",
      );
      const row = await stack.rt.store.db
        .selectFrom("plugin_configs")
        .select(["verificado", "chat_id_verificado", "intentos_fallidos", "bloqueado_en"])
        .where("id", "=", bot.pluginId)
        .executeTakeFirstOrThrow();
      assert.equal(Boolean(row.verificado), true);
      assert.equal(Number(row.chat_id_verificado), owner);
      assert.equal(Number(row.intentos_fallidos), 0, "linking clears the counters");
      assert.equal(row.bloqueado_en, null);
    });
  });
}
