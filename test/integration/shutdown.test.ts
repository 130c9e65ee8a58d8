// Graceful shutdown of `serve` (a child process) on SIGTERM while updates are being delivered:
// a request is either answered 200 (and its task exists) or refused (connection refused/reset,
// or 503 while closing) so Telegram delivers it again — never a 200 without a task. The process
// finishes what it holds and exits 0, leaves no send half-done, and after a restart every
// queued confirmation goes out exactly once, in order per chat.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
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
  type Outgoing,
  type ServerEnv,
  type ServerProcess,
  type WorldBot,
} from "../support/server-process.ts";

// One chat per bot (a chat is paced to ~1 message/s): 10 chats x 10 messages.
const CHATS = 10;
const PER_CHAT = 10;
const IN_FLIGHT = 20;
const TERM_AFTER = 40;
const CODE_RE = /\[(T-[0-9A-Z]+)\]/;

for (const target of dbTargets()) {
  describe(`graceful shutdown on SIGTERM (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let env: ServerEnv;
    let rt: Runtime;
    let port: number;
    let server: ServerProcess | undefined;
    let bots: WorldBot[];

    before(async () => {
      ({ database, fake, env, rt, port, server, bots } = await startWorld(target, CHATS));
    });

    after(() => stopWorld({ server, rt, fake, database }));

    it("SIGTERM during delivery: no 200 without its task, exit 0, queued confirmations sent after a restart", { timeout: 180_000 }, async () => {
      const pluginIds = bots.map((b) => b.pluginId);
      const items: Outgoing[] = [];
      for (let r = 0; r < PER_CHAT; r++) {
        for (const bot of bots) items.push({ bot, update: fake.makeTextUpdate(bot.token, { chatId: bot.chatId, text: `apagado ${bot.pluginId} #${r}` }) });
      }
      const first = server!;
      // Let the link replies' pacing pass, and make each send take a moment, so that sends are
      // in flight when SIGTERM comes: the server must let them finish and record them.
      await sleep(1100);
      fake.setLatency(250);
      let sendsInFlightAtTerm: Array<{ status: number }> = [];
      let acked = 0;
      let inFlight = 0;
      let termSent = false;
      let inFlightAtTerm = 0;
      let answeredAfterTerm200 = 0;
      const startedBeforeTerm = new Set<object>();
      const results = await deliverAll(fake, items, {
        concurrency: IN_FLIGHT,
        onStart: (it) => {
          inFlight++;
          if (!termSent) startedBeforeTerm.add(it.update);
        },
        onResult: (d) => {
          inFlight--;
          if (termSent && d.result.status === 200 && startedBeforeTerm.has(d.update)) answeredAfterTerm200++;
          if (d.result.status === 200 && ++acked === TERM_AFTER) {
            termSent = true;
            inFlightAtTerm = inFlight;
            sendsInFlightAtTerm = fake.callsOf("sendMessage").filter((c) => c.status === 0);
            first.kill("SIGTERM");
          }
        },
      });
      const exit = await first.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, `serve exits 0 on SIGTERM\n${first.stderr().slice(-3000)}`);
      await fake.waitFor(() => sendsInFlightAtTerm.every((c) => c.status !== 0), 5000, "the fake answered the sends in flight");
      assert.deepEqual(
        sendsInFlightAtTerm.map((c) => c.status),
        sendsInFlightAtTerm.map(() => 200),
        "sends in flight at SIGTERM were finished, not cut",
      );
      assert.ok(termSent, "SIGTERM was sent during delivery");

      const ok = results.filter((d) => d.result.status === 200);
      const refused = results.filter((d) => d.result.status !== 200);
      assert.ok(refused.length > 0, "some updates came after the server stopped accepting");
      for (const d of refused) {
        assert.ok(d.result.status === 0 || d.result.status === 503, `refused, or 503 while closing (got ${d.result.status} ${d.result.body})`);
      }

      // Right after the exit: every 200 has its task.
      const key = (pluginId: number, messageId: number) => `${pluginId}:${messageId}`;
      const tasksAtExit = await rt.store.db.selectFrom("tasks").select(["plugin_id", "message_id"]).where("plugin_id", "in", pluginIds).execute();
      const atExit = new Set(tasksAtExit.map((t) => key(Number(t.plugin_id), Number(t.message_id))));
      const without = ok.filter((d) => !atExit.has(key(d.bot.pluginId, messageIdOf(d.update))));
      assert.deepEqual(
        without.map((d) => messageIdOf(d.update)),
        [],
        "no 200 without its task",
      );
      // The sender finished what it had claimed: nothing is left half-sent.
      const outgoingAtExit = await rt.store.db
        .selectFrom("outgoing_messages")
        .select(["id", "status"])
        .where("plugin_id", "in", pluginIds)
        .where("task_id", "is not", null)
        .execute();
      assert.deepEqual(
        outgoingAtExit.filter((o) => o.status === "sending"),
        [],
        "no message left claimed",
      );
      const queuedAtExit = outgoingAtExit.filter((o) => o.status === "pending").length;
      const sentBeforeExit = fake.sentMessages().filter((m) => CODE_RE.test(m.text)).length;
      assert.ok(queuedAtExit > 0, "some confirmations were still queued at the exit (per-chat pacing)");

      // Start again with the Bot API up; Telegram redelivers what was refused.
      server = await startServerProcess({ env, port });
      const again = await deliverAll(
        fake,
        refused.map(({ bot, update }) => ({ bot, update })),
        { concurrency: IN_FLIGHT },
      );
      assert.deepEqual(
        again.filter((d) => d.result.status !== 200).map((d) => d.result.status),
        [],
      );

      const tasks = await rt.store.db.selectFrom("tasks").select(["plugin_id", "message_id", "codigo"]).where("plugin_id", "in", pluginIds).execute();
      assert.equal(tasks.length, items.length, "one task per message");
      assert.equal(new Set(tasks.map((t) => key(Number(t.plugin_id), Number(t.message_id)))).size, items.length, "no task doubled");

      const confirmations = (bs: WorldBot[]) => bs.flatMap((b) => fake.sentMessages(b.token)).filter((m) => CODE_RE.test(m.text));
      await fake.waitFor(() => confirmations(bots).length >= tasks.length, 60_000, `${tasks.length} confirmations sent`);
      await sleep(1500);
      const sent = confirmations(bots);
      const perCode = new Map<string, number>();
      for (const m of sent) {
        const c = CODE_RE.exec(m.text)![1]!;
        perCode.set(c, (perCode.get(c) ?? 0) + 1);
      }
      const twice = [...perCode].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], "no confirmation sent twice");
      assert.deepEqual([...perCode.keys()].sort(), tasks.map((t) => t.codigo).sort(), "every task confirmed");
      for (const bot of bots) {
        const replyTo = confirmations([bot]).map((m) => m.reply_to_message_id!);
        assert.deepEqual(
          replyTo,
          items.filter((it) => it.bot === bot).map((it) => messageIdOf(it.update)),
          `order kept in chat ${bot.chatId}`,
        );
      }

      const statuses = [...new Set(refused.map((d) => d.result.status))].join("/");
      console.log(
        `shutdown (${target.name}): delivered ${items.length}, answered 200 ${ok.length} (of them in flight at SIGTERM and answered after it: ${answeredAfterTerm200}), refused ${refused.length} (status ${statuses}), in flight at SIGTERM ${inFlightAtTerm} requests + ${sendsInFlightAtTerm.length} sends, exit code ${exit.code}, confirmations sent before exit ${sentBeforeExit}, queued at exit ${queuedAtExit}, sent after restart ${sent.length - sentBeforeExit}, duplicates ${twice.length}`,
      );
    });
  });
}
