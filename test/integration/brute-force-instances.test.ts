// Issue 10, item 3: the /start brute-force limits must hold across instances. Two `serve` processes
// on ONE PostgreSQL database are sent many wrong codes at once, from several chats, each update to
// one of the two (alternating, all in flight together). What a guesser gets is the number of codes
// the service actually checked: the `wrong_code` outcomes in processed_updates. Per bot they may
// not exceed LIMITS.botFailures, per chat LIMITS.chatFailures — whatever the interleaving.
//
// SQLite is skipped: one serve process owns its file (its write transaction already excludes
// every other writer); the in-process counterpart is brute-force.test.ts.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import type { FakeBotApi } from "../support/fake-bot-api.ts";
import { openWorld, startServerProcess, stopWorld, type ServerEnv, type ServerProcess } from "../support/server-process.ts";
import { randomToken } from "../support/stack.ts";
import type { Runtime } from "../../src/runtime.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import { LIMITS } from "../../src/webhook/decide.ts";

const INSTANCES = 2;
const CHATS = 12;
/** Wrong codes per chat: well past its own limit, and together far past the bot's. */
const TRIES_PER_CHAT = 3 * LIMITS.chatFailures;
const START_TIMEOUT_MS = 120_000;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

for (const target of dbTargets()) {
  const skip = target.name === "postgres" ? false : "several server processes on one database: PostgreSQL only";
  describe(`brute-force limits across ${INSTANCES} instances on one database (${target.name})`, { skip }, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let rt: Runtime;
    let web: ServerProcess[] = [];

    before(async () => {
      let env: ServerEnv;
      // The test's runtime migrates first; the servers then find the schema in place.
      ({ database, fake, env, rt } = await openWorld(target));
      web = await Promise.all(
        Array.from({ length: INSTANCES }, () => startServerProcess({ env, args: ["--no-workers"], logLevel: "warn", startTimeoutMs: START_TIMEOUT_MS })),
      );
    });

    after(async () => {
      await Promise.allSettled(web.map((p) => p.stop()));
      await stopWorld({ rt, fake, database });
    });

    let botSeq = 0;
    /** A fresh bot; `chats` × `tries` wrong codes posted at once, alternating between the instances. Returns what was checked. */
    async function guess(chats: number, tries: number) {
      const n = ++botSeq;
      const user = await createUser(rt.store.db, rt.store.seam, `guess_owner${n}`);
      const token = randomToken();
      fake.addBot({ token, username: `joe_guess${n}_bot` });
      const { plugin, webhookSecret } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
        usuarioId: user.id,
        identificador: `@joe_guess${n}_bot`,
        token,
      });
      const wrong = () => {
        for (;;) {
          const c = "JOE-" + Array.from({ length: 4 }, () => ALPHABET[Math.floor(Math.random() * ALPHABET.length)]).join("");
          if (c !== plugin.codigo_verificacion) return c;
        }
      };
      // Interleave the chats so every batch on every instance holds several of them.
      const updates: Array<Record<string, unknown>> = [];
      for (let t = 0; t < tries; t++) {
        for (let c = 0; c < chats; c++) updates.push(fake.makeTextUpdate(token, { chatId: 930_000 + n * 100 + c, text: `/start ${wrong()}` }));
      }
      const statuses = await Promise.all(
        updates.map(async (u, i) => {
          const r = await fetch(`${web[i % INSTANCES]!.url}/plugins/telegram/webhook/${plugin.id}/`, {
            method: "POST",
            body: JSON.stringify(u),
            headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": webhookSecret },
            signal: AbortSignal.timeout(60_000),
          });
          await r.text();
          return r.status;
        }),
      );
      assert.deepEqual([...new Set(statuses)], [200], "every guess answered 200");

      const marks = await rt.store.db.selectFrom("processed_updates").select(["chat_id", "outcome"]).where("plugin_id", "=", plugin.id).execute();
      assert.equal(marks.length, updates.length, "every update recorded once");
      const checked = marks.filter((m) => m.outcome.startsWith("wrong_code"));
      const perChat = new Map<number, number>();
      for (const m of checked) perChat.set(Number(m.chat_id), (perChat.get(Number(m.chat_id)) ?? 0) + 1);
      const worstChat = Math.max(...perChat.values());
      const row = await rt.store.db
        .selectFrom("plugin_configs")
        .select(["intentos_fallidos", "bloqueado_en", "verificado"])
        .where("id", "=", plugin.id)
        .executeTakeFirstOrThrow();
      process.stdout.write(
        `brute-force across instances (${chats} chats × ${tries}): ${checked.length} codes checked for the bot, at most ${worstChat} for one chat\n`,
      );
      assert.equal(Boolean(row.verificado), false);
      return { checked: checked.length, worstChat, perChat, row };
    }

    it(`${CHATS} chats × ${TRIES_PER_CHAT} wrong codes at once: at most ${LIMITS.botFailures} checked for the bot`, async () => {
      const { checked, worstChat, row } = await guess(CHATS, TRIES_PER_CHAT);
      assert.ok(checked <= LIMITS.botFailures, `${checked} codes checked for one bot (limit ${LIMITS.botFailures})`);
      assert.ok(worstChat <= LIMITS.chatFailures, `${worstChat} codes checked for one chat (limit ${LIMITS.chatFailures})`);
      // The limit was reached (the guesses were really checked, not all refused), and the
      // bot's counter matches what was checked.
      assert.equal(checked, LIMITS.botFailures);
      assert.equal(Number(row.intentos_fallidos), LIMITS.botFailures);
      assert.notEqual(row.bloqueado_en, null);
    });

    it(`2 chats × ${6 * LIMITS.chatFailures} wrong codes at once: at most ${LIMITS.chatFailures} checked per chat`, async () => {
      const { checked, perChat, row } = await guess(2, 6 * LIMITS.chatFailures);
      assert.deepEqual([...perChat.values()], [LIMITS.chatFailures, LIMITS.chatFailures], `codes checked per chat: ${JSON.stringify([...perChat])}`);
      assert.equal(checked, 2 * LIMITS.chatFailures);
      assert.equal(Number(row.intentos_fallidos), 2 * LIMITS.chatFailures);
    });
  });
}
