// Polling mode end to end: bots without a webhook are long-polled by `serve` through the fake Bot
// API's getUpdates (held until an update arrives), and what arrives that way becomes tasks and
// confirmations through the webhook's own write path. Offsets, the 409 of a webhook set
// elsewhere, the "offset after commit" redelivery, two instances on one bot, and kill -9.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { startStack, randomToken, type Stack } from "../support/stack.ts";
import type { FakeBotApi } from "../support/fake-bot-api.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import { setDeliveryMode } from "../../src/polling/mode.ts";
import { readPollingState } from "../../src/polling/state.ts";
import type { Runtime } from "../../src/runtime.ts";
import { openWorld, startServerProcess, stopWorld, type ServerEnv, type ServerProcess } from "../support/server-process.ts";
import { sleep, until } from "../support/wait.ts";

const POLL_ENV = { POLL_LEASE_SECONDS: "3", POLL_CONFLICT_BACKOFF_SECONDS: "600" };
const CODE_RE = /\[(T-[0-9A-Z]+)\]/;
let seq = 0;

async function pollBot(rt: Runtime, fake: FakeBotApi): Promise<{ pluginId: number; token: string; codigo: string }> {
  const n = ++seq;
  const token = randomToken();
  const username = `joe_poll${n}_${Date.now().toString(36)}_bot`;
  fake.addBot({ token, username });
  const user = await createUser(rt.store.db, rt.store.seam, `poller${n}_${Date.now().toString(36)}`);
  const { plugin } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, { usuarioId: user.id, identificador: `@${username}`, token });
  return { pluginId: plugin.id, token, codigo: plugin.codigo_verificacion };
}

for (const target of dbTargets()) {
  describe(`polling mode (${target.name})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(target, { env: POLL_ENV });
    });
    after(() => stack.stop());

    it("a bot without a webhook: /start and messages sent via getUpdates become a link, tasks and confirmations; the offset advances", async () => {
      const { fake, rt } = stack;
      const bot = await pollBot(rt, fake);
      const chat = 880_001;
      await until(() => fake.heldPolls(bot.token) === 1, "the bot's long poll to be held");

      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `/start ${bot.codigo}` }));
      await fake.waitForMessages(1, bot.token, 20_000);
      assert.match(fake.sentMessages(bot.token)[0]!.text, /vinculado/);

      const queued = [1, 2, 3].map((i) => fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `polled note ${i}` })));
      await until(async () => (await stack.tasks(bot.pluginId)).length === 3, "three tasks");
      await fake.waitForMessages(4, bot.token, 20_000);
      const tasks = await stack.tasks(bot.pluginId);
      assert.deepEqual(tasks.map((t) => t.titulo).sort(), ["polled note 1", "polled note 2", "polled note 3"]);
      const codes = fake
        .sentMessages(bot.token)
        .slice(1)
        .map((m) => CODE_RE.exec(m.text)?.[1]);
      assert.deepEqual(codes.sort(), tasks.map((t) => t.codigo).sort(), "one confirmation per task, with its code");

      const last = Math.max(...queued.map((u) => u.update_id as number));
      await until(async () => (await readPollingState(rt.store.db, bot.pluginId))?.update_offset === last + 1, "offset past the last update");
      // The next getUpdates carries that offset, which confirms the updates to Telegram.
      await until(() => fake.callsOf("getUpdates", bot.token).some((c) => Number(c.params.offset) === last + 1), "a poll with the new offset");
      assert.equal(fake.pendingUpdates(bot.token).length, 0, "Telegram holds nothing more for the bot");
      assert.ok(
        fake.callsOf("getUpdates", bot.token).every((c) => JSON.stringify(c.params.allowed_updates).includes("message")),
        "allowed_updates as the webhook's",
      );

      const metrics = await (await fetch(`${stack.baseUrl}/metrics`)).text();
      assert.match(metrics, /joe_updates_total\{source="polling",outcome="[a-z_]+"\} [1-9]/);
      assert.match(metrics, /joe_outbox_depth\{status="pending"\}/);
      assert.match(metrics, /joe_polling_lag_seconds_count [1-9]/);
    });

    it("a polled bot gets its command menu (setMyCommands) once this instance takes its lease", async () => {
      const { fake, rt } = stack;
      const bot = await pollBot(rt, fake);
      await until(() => fake.commandsOf(bot.token).length > 0, "the default command menu");
      await until(() => fake.commandsOf(bot.token, "en").length > 0 && fake.commandsOf(bot.token, "es").length > 0, "the menus per language");
      const calls = fake.callsOf("setMyCommands", bot.token).length;
      await sleep(2500); // a few scans later: not registered again
      assert.equal(fake.callsOf("setMyCommands", bot.token).length, calls, "once per bot per process");
    });

    it("a crash between the commit and the offset write: Telegram hands the updates out again and nothing is repeated", async () => {
      const { fake, rt } = stack;
      const bot = await pollBot(rt, fake);
      const chat = 880_002;
      await until(() => fake.heldPolls(bot.token) === 1, "the long poll");
      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `/start ${bot.codigo}` }));
      const updates = [1, 2].map((i) => fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `once ${i}` })));
      await fake.waitForMessages(3, bot.token, 20_000);
      const first = updates[0]!.update_id as number;
      await until(async () => (await readPollingState(rt.store.db, bot.pluginId))?.update_offset === first + 2, "offset past both");

      // As if the process had died after the commit and before writing the offset (and before
      // its next getUpdates told Telegram): polling paused, the stored offset back where it was,
      // Telegram still holding both updates; then polling again.
      await rt.store.db
        .updateTable("plugin_configs")
        .set({ metadatos: JSON.stringify({ modo: "webhook" }) })
        .where("id", "=", bot.pluginId)
        .execute();
      await until(() => fake.heldPolls(bot.token) === 0, "the poller to stop");
      await rt.store.db.updateTable("polling_state").set({ update_offset: first }).where("plugin_id", "=", bot.pluginId).execute();
      for (const u of updates) fake.queueUpdate(bot.token, u);
      const polls = fake.callsOf("getUpdates", bot.token).length;
      await setDeliveryMode(rt.store.db, rt.store.seam, bot.pluginId, "polling");
      await until(
        () =>
          fake
            .callsOf("getUpdates", bot.token)
            .slice(polls)
            .some((c) => Number(c.params.offset) === first),
        "a poll from the old offset",
      );
      await until(async () => (await readPollingState(rt.store.db, bot.pluginId))?.update_offset === first + 2, "the redelivery consumed");
      assert.equal((await stack.tasks(bot.pluginId)).length, 2, "no task doubled");
      await sleep(300);
      assert.equal(fake.sentMessages(bot.token).length, 3, "no confirmation doubled");
    });

    it("a 409 (webhook set elsewhere) is recorded and backed off, not looped on; webhook delete resumes polling", async () => {
      const { fake, rt } = stack;
      const bot = await pollBot(rt, fake);
      await until(() => fake.heldPolls(bot.token) === 1, "the long poll");
      // Someone registers a webhook for this token behind Joe's back.
      const api = `${fake.url}/bot${bot.token}`;
      await fetch(`${api}/setWebhook?url=${encodeURIComponent("https://elsewhere.example/hook")}`);
      await until(async () => /409/.test((await readPollingState(rt.store.db, bot.pluginId))?.last_error ?? ""), "the 409 recorded");
      const st = (await readPollingState(rt.store.db, bot.pluginId))!;
      assert.ok(st.retry_at! - st.last_error_at! >= 600_000 - 1000, "backed off for the configured 10 minutes");
      const conflicts = () => fake.callsOf("getUpdates", bot.token).filter((c) => c.status === 409).length;
      const seen = conflicts();
      await sleep(3000);
      assert.equal(conflicts(), seen, "no further getUpdates while backing off");

      // `webhook delete` (the CLI's steps): Telegram's webhook removed, the plugin back to polling.
      await fetch(`${api}/deleteWebhook`);
      await setDeliveryMode(rt.store.db, rt.store.seam, bot.pluginId, "polling");
      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: 880_003, text: `/start ${bot.codigo}` }));
      await fake.waitForMessages(1, bot.token, 20_000);
      assert.equal((await readPollingState(rt.store.db, bot.pluginId))?.last_error, null, "the error cleared once polling works");
    });

    it("a bot in webhook mode is not polled", async () => {
      const bot = await stack.addBot(); // setWebhook: webhook mode
      await sleep(2500); // more than one scan (1 s with a 3 s lease)
      assert.equal(stack.fake.callsOf("getUpdates", bot.token).length, 0);
    });
  });

  describe(`polling across processes (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let env: ServerEnv;
    let rt: Runtime;
    const servers: ServerProcess[] = [];
    before(async () => {
      ({ database, fake, env, rt } = await openWorld(target));
    });
    after(async () => {
      for (const s of servers) await s.stop("SIGKILL");
      await stopWorld({ rt, fake, database });
    });

    it("kill -9 while polling loses and repeats nothing; after a restart the bot is polled again", { timeout: 120_000 }, async () => {
      const bot = await pollBot(rt, fake);
      const chat = 881_001;
      const s1 = await startServerProcess({ env, extraEnv: POLL_ENV, startTimeoutMs: 120_000 });
      servers.push(s1);
      await until(() => fake.heldPolls(bot.token) === 1, "the long poll");
      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `/start ${bot.codigo}` }));
      await fake.waitForMessages(1, bot.token, 20_000);
      // A burst, and the kill while it is being written.
      const N = 40;
      for (let i = 0; i < N; i++) fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: chat, text: `burst ${i}` }));
      await until(
        async () => (await rt.store.db.selectFrom("tasks").select("id").where("plugin_id", "=", bot.pluginId).execute()).length >= 1,
        "the first task",
      );
      s1.kill("SIGKILL");
      await s1.exited;

      const s2 = await startServerProcess({ env, extraEnv: POLL_ENV, startTimeoutMs: 120_000 });
      servers.push(s2);
      // The dead instance's lease runs out (3 s), then s2 polls from the committed offset.
      await until(
        async () => (await rt.store.db.selectFrom("tasks").select("id").where("plugin_id", "=", bot.pluginId).execute()).length === N,
        "all tasks",
        60_000,
      );
      await fake.waitForMessages(N + 1, bot.token, 90_000);
      const tasks = await rt.store.db.selectFrom("tasks").select(["titulo"]).where("plugin_id", "=", bot.pluginId).execute();
      assert.deepEqual(tasks.map((t) => t.titulo).sort(), Array.from({ length: N }, (_, i) => `burst ${i}`).sort(), "every message once");
      await sleep(500);
      const codes = fake
        .sentMessages(bot.token)
        .map((m) => CODE_RE.exec(m.text)?.[1])
        .filter(Boolean);
      assert.equal(codes.length, N, "one confirmation per task");
      assert.equal(new Set(codes).size, N, "none sent twice");
      await s2.stop("SIGTERM");
      assert.equal(fake.heldPolls(bot.token), 0, "SIGTERM aborted the long poll");
    });

    it("two serve instances, one bot: only one polls it (no 'terminated by other getUpdates request')", {
      timeout: 120_000,
      skip: target.name !== "postgres" && "two instances share a database on PostgreSQL",
    }, async () => {
      const bot = await pollBot(rt, fake);
      const a = await startServerProcess({ env, extraEnv: POLL_ENV, startTimeoutMs: 120_000 });
      const b = await startServerProcess({ env, extraEnv: POLL_ENV, startTimeoutMs: 120_000 });
      servers.push(a, b);
      await until(() => fake.heldPolls(bot.token) === 1, "the long poll");
      await sleep(4000); // more than a lease: both instances have scanned several times
      const calls = fake.callsOf("getUpdates", bot.token);
      assert.equal(calls.filter((c) => c.status === 409).length, 0, "never two polls at once");
      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: 881_002, text: `/start ${bot.codigo}` }));
      await fake.waitForMessages(1, bot.token, 20_000);
      const owner = (await readPollingState(rt.store.db, bot.pluginId))!.lease_owner;
      assert.ok(owner);
      // The holder goes away (SIGTERM hands the lease back): the other one takes over.
      const logsA = a.logLines().some((l) => l.plugin_id === bot.pluginId && /now polls/.test(String(l.msg)));
      const holder = logsA ? a : b;
      const other = holder === a ? b : a;
      await holder.stop("SIGTERM");
      await until(() => other.logLines().some((l) => l.plugin_id === bot.pluginId && /now polls/.test(String(l.msg))), "the other instance takes over");
      fake.queueUpdate(bot.token, fake.makeTextUpdate(bot.token, { chatId: 881_002, text: "after takeover" }));
      await until(async () => (await rt.store.db.selectFrom("tasks").select("id").where("plugin_id", "=", bot.pluginId).execute()).length === 1, "the task");
    });
  });
}
