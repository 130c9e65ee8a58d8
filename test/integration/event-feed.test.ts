// The feed (issue 12, "Changes are a feed"), both databases, over real HTTP: every write path of
// the webhook emits exactly one task.created per task (none on redelivery), links and unlinks
// are events, GET /api/v1/events shows only the token's user's events with a cursor and a
// long-poll, the SSE stream resumes from Last-Event-ID without gap or duplicate, and outgoing
// webhooks are signed, retried until the subscriber is back, once per event, and a hanging
// subscriber does not hold up another.
process.env.JOE_SUBSCRIPTION_RETRY_BASE_MS = "50";
process.env.JOE_SUBSCRIPTION_RETRY_MAX_MS = "300";
process.env.JOE_SUBSCRIPTION_TIMEOUT_MS = "10000";

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { apiGet, apiSend, openSse, startSubscriber, type Subscriber } from "../support/feed.ts";
import { until } from "../support/wait.ts";
import { createApiToken } from "../../src/api/tokens.ts";
import { getPluginRow, unlinkPlugin } from "../../src/plugins/store.ts";
import { pluginState } from "../../src/plugins/state.ts";
import { parseUpdate, type ParsedUpdate } from "../../src/telegram/update.ts";
import { writeBatch } from "../../src/webhook/write-batch.ts";
import { verifyJoeSignature } from "../../docs/examples/verify-signature.ts";

let chatSeq = 0;

for (const target of dbTargets()) {
  describe(`event feed (${target.name})`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack(target, { workers: true });
    });
    after(async () => {
      await s.stop();
    });

    /** A linked bot, its user's id and an API token for that user. */
    async function linkedBot(): Promise<{ bot: TestBot; chatId: number; usuarioId: number; token: string }> {
      const bot = await s.addBot();
      const chatId = 910_000 + ++chatSeq;
      await s.link(bot, chatId);
      const usuarioId = Number((await getPluginRow(s.rt.store.db, bot.pluginId)).usuario_id);
      const { token } = await createApiToken(s.rt.store.db, usuarioId, "feed-test");
      return { bot, chatId, usuarioId, token };
    }

    const eventsOf = (pluginId: number) => s.rt.store.db.selectFrom("events").selectAll().where("plugin_id", "=", pluginId).orderBy("id").execute();

    async function sendTexts(bot: TestBot, chatId: number, texts: string[]): Promise<void> {
      for (const t of texts) assert.equal((await s.sendText(bot, chatId, t)).status, 200);
    }

    test("every write path emits exactly one task.created per task; a redelivered update emits none", async () => {
      const { bot, chatId } = await linkedBot();
      const { db, seam } = s.rt.store;
      const state = pluginState(await getPluginRow(db, bot.pluginId), seam);
      const mk = (text: string): ParsedUpdate => {
        const p = parseUpdate(s.fake.makeTextUpdate(bot.token, { chatId, text }));
        assert.ok(p.ok);
        return p.update;
      };
      const fast = [mk("fast 1"), mk("fast 2"), mk("fast 3")];
      const bulk = [mk("bulk 1"), mk("bulk 2")];
      const single = mk("per-update");
      for (let round = 0; round < 2; round++) {
        // Planned on the cached (linked) state: PostgreSQL's one-statement run, SQLite's one transaction.
        const r1 = await writeBatch(
          db,
          seam,
          fast.map((update) => ({ pluginId: bot.pluginId, update, cached: state })),
          Date.now(),
        );
        // No cached state: the writer reads the plugin and decides inside its transaction.
        const r2 = await writeBatch(
          db,
          seam,
          bulk.map((update) => ({ pluginId: bot.pluginId, update })),
          Date.now(),
        );
        // One update alone.
        const r3 = await writeBatch(db, seam, [{ pluginId: bot.pluginId, update: single }], Date.now());
        const outcomes = [...r1, ...r2, ...r3].map((r) => ("failed" in r ? `failed: ${String(r.failed)}` : r.outcome));
        if (round === 0)
          assert.ok(
            outcomes.every((o) => o !== "duplicate"),
            outcomes.join(),
          );
        else
          assert.ok(
            outcomes.every((o) => o === "duplicate"),
            `redelivery: ${outcomes.join()}`,
          );
      }
      // And over HTTP, each update delivered twice.
      for (const text of ["http 1", "http 2"]) {
        const sent = await s.sendText(bot, chatId, text);
        assert.equal((await s.fake.deliverUpdate(bot.token, sent.update)).status, 200);
      }
      const tasks = await db.selectFrom("tasks").select(["id", "titulo"]).where("plugin_id", "=", bot.pluginId).execute();
      assert.equal(tasks.length, 8, tasks.map((t) => t.titulo).join());
      const created = (await eventsOf(bot.pluginId)).filter((e) => e.type === "task.created");
      assert.deepEqual(
        created.map((e) => Number(e.task_id)).sort((a, b) => a - b),
        tasks.map((t) => Number(t.id)).sort((a, b) => a - b),
      );
    });

    test("linking and unlinking a plugin are events", async () => {
      const { bot, token } = await linkedBot();
      await unlinkPlugin(s.rt.store.db, s.rt.store.seam, bot.pluginId);
      const types = (await eventsOf(bot.pluginId)).map((e) => e.type);
      assert.deepEqual(types, ["plugin.linked", "plugin.unlinked"]);
      const feed = await apiGet(s.baseUrl, token, "/events");
      assert.deepEqual(
        feed.body.items.map((i: { type: string; plugin_id: number }) => [i.type, i.plugin_id]),
        [
          ["plugin.linked", bot.pluginId],
          ["plugin.unlinked", bot.pluginId],
        ],
      );
      assert.equal(feed.body.items[0].task, undefined);
    });

    test("GET /events: only the token's user's events, a cursor, a long-poll woken by a new task, 400 on bad input", async () => {
      const a = await linkedBot();
      const b = await linkedBot();
      await sendTexts(a.bot, a.chatId, ["a one", "a two"]);
      await sendTexts(b.bot, b.chatId, ["b one"]);
      const fa = await apiGet(s.baseUrl, a.token, "/events?types=task.created");
      assert.equal(fa.status, 200);
      assert.deepEqual(
        fa.body.items.map((i: any) => i.task.titulo),
        ["a one", "a two"],
      );
      assert.ok(fa.body.items.every((i: any) => i.plugin_id === a.bot.pluginId && i.task.usuario_id === a.usuarioId && i.task.estado === "queued"));
      const fb = await apiGet(s.baseUrl, b.token, "/events?types=task.created");
      assert.deepEqual(
        fb.body.items.map((i: any) => i.task.titulo),
        ["b one"],
      );

      // Nothing new: the same cursor back (after the wait).
      const cursor = fa.body.next_cursor as string;
      const empty = await apiGet(s.baseUrl, a.token, `/events?after=${cursor}&wait=1`);
      assert.deepEqual(empty.body, { items: [], next_cursor: cursor });
      // A long-poll answers with the task written while it waits (and B's task is not A's event).
      const waiting = apiGet(s.baseUrl, a.token, `/events?after=${cursor}&wait=25`);
      await sendTexts(b.bot, b.chatId, ["b two"]);
      await sendTexts(a.bot, a.chatId, ["a three"]);
      const woke = await waiting;
      assert.equal(woke.status, 200);
      assert.deepEqual(
        woke.body.items.map((i: any) => i.task?.titulo),
        ["a three"],
      );
      assert.notEqual(woke.body.next_cursor, cursor);

      for (const [q, field] of [
        ["after=nonsense", "after"],
        ["types=task.exploded", "types"],
        ["wait=99", "wait"],
        ["limit=0", "limit"],
      ] as const) {
        const r = await apiGet(s.baseUrl, a.token, `/events?${q}`);
        assert.equal(r.status, 400, q);
        assert.equal(r.body.error_code, "INVALID_INPUT");
        assert.match(r.body.description, new RegExp(field), q);
      }
      assert.equal((await apiGet(s.baseUrl, "joe_wrong", "/events")).status, 401);
    });

    test("SSE: events as they are committed; Last-Event-ID resumes with no gap and no duplicate", async () => {
      const a = await linkedBot();
      const start = (await apiGet(s.baseUrl, a.token, "/events")).body.next_cursor as string;
      const sse = openSse(`${s.baseUrl}/api/v1/events/stream?after=${start}&types=task.created`, a.token);
      assert.equal(await sse.status, 200);
      await sendTexts(a.bot, a.chatId, ["s1", "s2", "s3"]);
      await until(
        () => sse.messages.length >= 3,
        () => `3 SSE messages, got ${sse.messages.length}`,
      );
      sse.close();
      assert.deepEqual(
        sse.messages.map((m) => m.event),
        ["task.created", "task.created", "task.created"],
      );
      assert.deepEqual(
        sse.messages.map((m) => JSON.parse(m.data).task.titulo),
        ["s1", "s2", "s3"],
      );
      await sendTexts(a.bot, a.chatId, ["s4", "s5"]);
      const again = openSse(`${s.baseUrl}/api/v1/events/stream?after=${start}&types=task.created`, a.token, { "last-event-id": sse.messages[2]!.id! });
      await until(
        () => again.messages.length >= 2,
        () => `2 SSE messages after resuming, got ${again.messages.length}`,
      );
      await sendTexts(a.bot, a.chatId, ["s6"]);
      await until(() => again.messages.length >= 3, "the live event after the backlog");
      again.close();
      assert.deepEqual(
        again.messages.map((m) => JSON.parse(m.data).task.titulo),
        ["s4", "s5", "s6"],
      );
      // The SSE id is the cursor GET /events takes.
      const tail = await apiGet(s.baseUrl, a.token, `/events?after=${again.messages[1]!.id}`);
      assert.deepEqual(
        tail.body.items.map((i: any) => i.task.titulo),
        ["s6"],
      );
    });

    test("a subscriber that is down for a while then receives every event once, signed, with a stable delivery id", async () => {
      const a = await linkedBot();
      const sub = await startSubscriber(503);
      try {
        const created = await apiSend(s.baseUrl, a.token, "POST", "/subscriptions", { url: sub.url, events: ["task.created"] });
        assert.equal(created.status, 201);
        const { id, secret } = created.body as { id: number; secret: string };
        assert.ok(secret.length >= 32);
        const listed = await apiGet(s.baseUrl, a.token, "/subscriptions");
        assert.ok(!JSON.stringify(listed.body).includes(secret), "the secret is shown once only");
        const stored = JSON.stringify(await s.rt.store.db.selectFrom("subscriptions").selectAll().execute());
        assert.ok(!stored.includes(secret), "the secret is stored encrypted");

        await sendTexts(a.bot, a.chatId, ["w1", "w2", "w3", "w4"]);
        await until(() => sub.received >= 3, "retries while the subscriber is down");
        const failing = (await apiGet(s.baseUrl, a.token, "/subscriptions")).body.items.find((x: any) => x.id === id);
        assert.equal(failing.last_error, "HTTP 503");
        assert.ok(failing.attempts > 0 && failing.failing_since > 0 && failing.delivered === 0);

        sub.mode = 200;
        await until(
          () => sub.deliveries.length >= 4,
          () => `4 deliveries, got ${sub.deliveries.length}`,
        );
        await sendTexts(a.bot, a.chatId, ["w5"]);
        await until(() => sub.deliveries.length >= 5, "the fifth delivery");
        // In order: anything delivered twice would have come before the fifth.
        assert.equal(sub.deliveries.length, 5);
        const ids = sub.deliveries.map((d) => d.headers["x-joe-delivery"]);
        assert.equal(new Set(ids).size, 5);
        for (const d of sub.deliveries) {
          assert.ok(verifyJoeSignature(secret, d.body, d.headers["x-joe-signature"]), "valid signature");
          assert.ok(!verifyJoeSignature(secret, d.body + " ", d.headers["x-joe-signature"]));
          assert.equal(d.headers["x-joe-event"], "task.created");
          const ev = JSON.parse(d.body);
          assert.equal(String(ev.id), d.headers["x-joe-delivery"]);
        }
        assert.deepEqual(
          sub.deliveries.map((d) => JSON.parse(d.body).task.titulo),
          ["w1", "w2", "w3", "w4", "w5"],
        );
        const healthy = (await apiGet(s.baseUrl, a.token, "/subscriptions")).body.items.find((x: any) => x.id === id);
        assert.equal(healthy.delivered, 5);
        assert.equal(healthy.failing_since, null);
      } finally {
        await sub.close();
      }
    });

    test("a hanging subscriber does not delay another; subscriptions are the user's own", async () => {
      const a = await linkedBot();
      const b = await linkedBot();
      const slow = await startSubscriber("hang");
      const fast = await startSubscriber(200);
      let subs: Subscriber[] = [slow, fast];
      try {
        const s1 = await apiSend(s.baseUrl, a.token, "POST", "/subscriptions", { url: slow.url, events: ["task.created"] });
        const s2 = await apiSend(s.baseUrl, a.token, "POST", "/subscriptions", { url: fast.url, events: ["task.created", "task.state_changed"] });
        assert.equal(s1.status, 201);
        assert.equal(s2.status, 201);
        await sendTexts(a.bot, a.chatId, ["h1", "h2", "h3"]);
        await until(
          () => fast.deliveries.length >= 3 && slow.received >= 1,
          () => `fast ${fast.deliveries.length}, slow received ${slow.received}`,
        );
        assert.equal(slow.deliveries.length, 0, "the slow one is still hanging on its first event");
        assert.deepEqual(
          fast.deliveries.map((d) => JSON.parse(d.body).task.titulo),
          ["h1", "h2", "h3"],
        );

        // Bad input, and isolation between users.
        for (const [body, field] of [
          [{ url: "ftp://x.example/", events: ["task.created"] }, "url"],
          [{ url: "not a url", events: ["task.created"] }, "url"],
          [{ url: fast.url, events: [] }, "events"],
          [{ url: fast.url, events: ["task.exploded"] }, "events"],
          [{ events: ["task.created"] }, "url"],
        ] as const) {
          const r = await apiSend(s.baseUrl, a.token, "POST", "/subscriptions", body);
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.equal(r.body.error_code, "INVALID_INPUT");
          assert.match(r.body.description, new RegExp(field));
        }
        assert.deepEqual((await apiGet(s.baseUrl, b.token, "/subscriptions")).body.items, []);
        assert.equal((await apiSend(s.baseUrl, b.token, "DELETE", `/subscriptions/${s1.body.id}`)).status, 404);
        assert.equal((await apiSend(s.baseUrl, a.token, "DELETE", `/subscriptions/${s1.body.id}`)).status, 200);
        assert.equal((await apiSend(s.baseUrl, a.token, "DELETE", `/subscriptions/${s2.body.id}`)).status, 200);
        assert.deepEqual((await apiGet(s.baseUrl, a.token, "/subscriptions")).body.items, []);
      } finally {
        for (const x of subs) await x.close();
        subs = [];
      }
    });

    if (target.name === "postgres") {
      test("PostgreSQL: an event whose transaction commits after a later one is not skipped by a reader", async () => {
        const a = await linkedBot();
        const start = (await apiGet(s.baseUrl, a.token, "/events")).body.next_cursor as string;
        const c1 = new pg.Client({ connectionString: s.database.url });
        const c2 = new pg.Client({ connectionString: s.database.url });
        await c1.connect();
        await c2.connect();
        try {
          const insert = "insert into events (type, usuario_id, plugin_id, task_id, at) values ('plugin.linked', $1, $2, null, 0) returning id";
          await c1.query("begin");
          const early = Number((await c1.query(insert, [a.usuarioId, a.bot.pluginId])).rows[0].id);
          const late = Number((await c2.query(insert, [a.usuarioId, a.bot.pluginId])).rows[0].id); // commits at once
          assert.ok(late > early);
          const meanwhile = await apiGet(s.baseUrl, a.token, `/events?after=${start}`);
          assert.deepEqual(
            meanwhile.body.items.map((i: any) => i.id),
            [],
            "nothing past the open transaction's event yet",
          );
          await c1.query("commit");
          const seen = await apiGet(s.baseUrl, a.token, `/events?after=${meanwhile.body.next_cursor}&wait=20`);
          let ids = seen.body.items.map((i: any) => i.id);
          if (ids.length < 2)
            ids = ids.concat((await apiGet(s.baseUrl, a.token, `/events?after=${seen.body.next_cursor}&wait=20`)).body.items.map((i: any) => i.id));
          assert.deepEqual(ids, [early, late]);
        } finally {
          await c1.end();
          await c2.end();
        }
      });
    }
  });

  describe(`event feed shutdown (${target.name})`, () => {
    test("a graceful shutdown ends open SSE streams", async () => {
      const s = await startStack(target, { workers: true });
      let stopped = false;
      try {
        const bot = await s.addBot();
        const usuarioId = Number((await getPluginRow(s.rt.store.db, bot.pluginId)).usuario_id);
        const { token } = await createApiToken(s.rt.store.db, usuarioId, "t");
        const sse = openSse(`${s.baseUrl}/api/v1/events/stream`, token);
        assert.equal(await sse.status, 200);
        await s.stop();
        stopped = true;
        await sse.ended;
      } finally {
        if (!stopped) await s.stop();
      }
    });
  });
}
