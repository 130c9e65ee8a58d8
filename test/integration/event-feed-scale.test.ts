// Two `serve` processes on ONE PostgreSQL database, both taking webhook updates at once, while a
// reader follows GET /api/v1/events with its cursor, asking either instance in turn. Sequence ids
// commit out of order across instances; the reader must still see every event exactly once, in
// commit order ((txid, id), see feed/cursor.ts), with no gap.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import type { FakeBotApi } from "../support/fake-bot-api.ts";
import { createBots, openWorld, startServerProcess, stopWorld, type ServerEnv, type ServerProcess, type WorldBot } from "../support/server-process.ts";
import { apiGet } from "../support/feed.ts";
import { until } from "../support/wait.ts";
import { createApiToken } from "../../src/api/tokens.ts";
import { getPluginRow } from "../../src/plugins/store.ts";
import type { Runtime } from "../../src/runtime.ts";

const BOTS = 6;
const MESSAGES = 300;
const IN_FLIGHT = 30;

for (const target of dbTargets()) {
  const skip = target.name === "postgres" ? false : "several instances on one database: PostgreSQL only";
  describe(`event feed across two instances (${target.name})`, { skip }, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let env: ServerEnv;
    let rt: Runtime;
    let web: ServerProcess[] = [];

    before(async () => {
      ({ database, fake, env, rt } = await openWorld(target));
    });
    after(async () => {
      await Promise.allSettled(web.map((p) => p.stop()));
      await stopWorld({ rt, fake, database });
    });

    it("a reader sees every event exactly once, in commit order, while both instances write", async () => {
      web = await Promise.all([0, 1].map(() => startServerProcess({ env, args: ["--no-workers"], logLevel: "warn", startTimeoutMs: 120_000 })));
      const bots: WorldBot[] = await createBots(rt, fake, web[0]!.url, BOTS);
      const hook = (p: ServerProcess, b: WorldBot) => `${p.url}/plugins/telegram/webhook/${b.pluginId}/`;
      for (const [i, b] of bots.entries()) {
        const r = await fake.deliverUpdate(b.token, fake.makeTextUpdate(b.token, { chatId: b.chatId, text: `/start ${b.codigo}` }), {
          url: hook(web[i % 2]!, b),
        });
        assert.equal(r.status, 200);
      }
      const usuarioId = Number((await getPluginRow(rt.store.db, bots[0]!.pluginId)).usuario_id);
      const { token } = await createApiToken(rt.store.db, usuarioId, "reader");

      // The reader: long-polls from the beginning, alternating between the instances.
      const seen: Array<{ id: number; type: string }> = [];
      let cursor = "";
      let writing = true;
      let expected = Infinity;
      const reader = (async () => {
        for (let k = 0; writing || seen.length < expected; k++) {
          const r = await apiGet(web[k % 2]!.url, token, `/events?after=${cursor}&wait=5&limit=50`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          for (const it of r.body.items) seen.push({ id: it.id, type: it.type });
          cursor = r.body.next_cursor;
        }
      })();

      // The writers: every message to one instance or the other, IN_FLIGHT at once.
      let next = 0;
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < MESSAGES) {
            const i = next++;
            const b = bots[i % BOTS]!;
            const r = await fake.deliverUpdate(b.token, fake.makeTextUpdate(b.token, { chatId: b.chatId, text: `m${i}` }), { url: hook(web[i % 2]!, b) });
            statuses.push(r.status);
          }
        }),
      );
      assert.deepEqual([...new Set(statuses)], [200]);

      const inDb = (
        await sql<{ id: number; type: string }>`select id, type from events where usuario_id = ${usuarioId} order by txid, id`.execute(rt.store.db)
      ).rows.map((r) => ({ id: Number(r.id), type: r.type }));
      assert.equal(inDb.filter((e) => e.type === "task.created").length, MESSAGES);
      expected = inDb.length;
      writing = false;
      await until(
        () => seen.length >= expected,
        () => `reader saw ${seen.length} of ${expected}`,
        60_000,
      );
      await reader;
      assert.equal(new Set(seen.map((e) => e.id)).size, seen.length, "no event twice");
      assert.deepEqual(seen, inDb, "every event, in commit order");
      const tasks = Number(
        (
          await rt.store.db
            .selectFrom("tasks")
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
      assert.equal(tasks, MESSAGES);
    });
  });
}
