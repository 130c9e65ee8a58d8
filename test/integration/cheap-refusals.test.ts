// Requests anyone can send — made-up plugin ids, a real plugin with a wrong secret — must be
// refused without a database query each, and must not push real plugins out of the webhook's
// cache. A second webhook app runs on the stack's database with every query it makes counted
// (a Kysely plugin), and the plugin directory on a clock the test moves, so counts do not depend
// on how fast this shared machine is.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import type { KyselyPlugin } from "kysely";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { buildApp } from "../../src/app.ts";
import { PluginDirectory } from "../../src/plugins/directory.ts";
import { rotateWebhookSecret } from "../../src/plugins/store.ts";
import { createLogger } from "../../src/log.ts";
import type { Db } from "../../src/db/dialect.ts";

function counting(db: Db): { db: Db; count: () => number } {
  let n = 0;
  const plugin: KyselyPlugin = {
    transformQuery(args) {
      n++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { db: db.withPlugin(plugin), count: () => n };
}

/** POST `n` updates, 8 at a time; returns the status codes seen and how often. */
async function post(n: number, target: (i: number) => { url: string; secret?: string }): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const { url, secret } = target(i);
      const body = JSON.stringify({
        update_id: 1000 + i,
        message: { message_id: i + 1, date: 1, chat: { id: 5, type: "private" }, from: { id: 5, is_bot: false, first_name: "x" }, text: "hola" },
      });
      const res = await fetch(url, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}) },
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return statuses;
}

for (const target of dbTargets()) {
  describe(`refusals are cheap and cannot evict real plugins (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    let app: FastifyInstance;
    let base: string;
    let all: ReturnType<typeof counting>;
    let lookups: ReturnType<typeof counting>;
    let directory: PluginDirectory;
    let clock = 1_000_000;
    const hook = (id: number | string) => `${base}/plugins/telegram/webhook/${id}/`;
    /** Made-up ids: 12 digits, far above any real one. */
    const randomId = () => 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
      all = counting(stack.rt.store.db);
      lookups = counting(stack.rt.store.db);
      directory = new PluginDirectory(lookups.db, stack.rt.store.seam, 2000, () => clock);
      ({ app } = buildApp({ db: all.db, seam: stack.rt.store.seam, logger: createLogger("silent"), plugins: directory }));
      base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
    });
    after(async () => {
      await app.close();
      await stack.stop();
    });

    const queries = () => all.count() + lookups.count();

    it("1,000 requests for unknown plugin ids: all 404, and only a handful of queries", async () => {
      const before = queries();
      const statuses = await post(1000, () => ({ url: hook(randomId()), secret: "x" }));
      assert.deepEqual([...statuses], [[404, 1000]]);
      const used = queries() - before;
      assert.ok(used <= 5, `${used} queries for 1,000 refused requests`);
    });

    it("1,000 requests to a real plugin with a wrong secret: all 401, one re-read per second at most", async () => {
      await post(1, () => ({ url: hook(bot.pluginId), secret: bot.secret })); // warm: the plugin is known
      const before = queries();
      const statuses = await post(1000, (i) => ({ url: hook(bot.pluginId), secret: `wrong-${i}` }));
      assert.deepEqual([...statuses], [[401, 1000]]);
      const used = queries() - before;
      assert.ok(used <= 2, `${used} queries for 1,000 wrong secrets`);
      // A second later (on the directory's clock) a wrong secret may read the plugin once more.
      clock += 1001;
      const again = queries();
      assert.deepEqual([...(await post(200, (i) => ({ url: hook(bot.pluginId), secret: `wrong-again-${i}` })))], [[401, 200]]);
      assert.ok(queries() - again <= 2, `${queries() - again} queries for 200 more wrong secrets`);
    });

    it("a rotated secret is still taken after a wrong-secret flood, once the re-read interval has passed", async () => {
      const { secret: rotated } = await rotateWebhookSecret(stack.rt.store.db, stack.rt.store.seam, bot.pluginId, 0);
      assert.deepEqual([...(await post(50, (i) => ({ url: hook(bot.pluginId), secret: `flood-${i}` })))], [[401, 50]]);
      clock += 1001;
      assert.deepEqual([...(await post(1, () => ({ url: hook(bot.pluginId), secret: rotated })))], [[200, 1]]);
      bot = { ...bot, secret: rotated };
    });

    it("50,001 lookups of unknown ids leave the real plugin cached: its next update costs no lookup", async () => {
      clock += 5000;
      assert.deepEqual([...(await post(1, () => ({ url: hook(bot.pluginId), secret: bot.secret })))], [[200, 1]]); // cached now
      const before = lookups.count();
      for (let i = 0; i < 50_001; i++) assert.equal(await directory.lookup(randomId()), null);
      const flood = lookups.count() - before;
      assert.deepEqual([...(await post(1, () => ({ url: hook(bot.pluginId), secret: bot.secret })))], [[200, 1]]);
      assert.equal(lookups.count() - before - flood, 0, "the real plugin was read again: the flood evicted it");
      assert.ok(flood <= 2, `${flood} queries for 50,001 unknown ids`);
    });

    it("new plugins are found at once (the highest id just read), and unknown ids below the highest are looked up once", async () => {
      // Created after the directory last read the highest id, with its clock not moving: ids just
      // above the highest wait for a fresh read of it instead of being refused from memory.
      for (let i = 0; i < 2; i++) {
        const fresh = await stack.addBot();
        assert.deepEqual([...(await post(1, () => ({ url: hook(fresh.pluginId), secret: fresh.secret })))], [[200, 1]]);
      }
      // A gap below the highest id (0 is never an id): one query, then refused from memory.
      const before = lookups.count();
      assert.deepEqual([...(await post(100, () => ({ url: hook(0), secret: "x" })))], [[404, 100]]);
      assert.equal(lookups.count() - before, 1);
    });

    it("the server's own directory (real clock): 1,000 unknown ids cost far fewer than 1,000 queries", async () => {
      const own = counting(stack.rt.store.db);
      const { app: plain } = buildApp({ db: own.db, seam: stack.rt.store.seam, logger: createLogger("silent") });
      const url = (await plain.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");
      try {
        const statuses = await post(1000, () => ({ url: `${url}/plugins/telegram/webhook/${randomId()}/`, secret: "x" }));
        assert.deepEqual([...statuses], [[404, 1000]]);
        // At most one query per second of this flood (the highest id read again).
        assert.ok(own.count() < 100, `${own.count()} queries for 1,000 refused requests`);
      } finally {
        await plain.close();
      }
    });
  });
}
