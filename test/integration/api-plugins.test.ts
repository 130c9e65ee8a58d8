// /api/v1/plugins over real HTTP, on SQLite and PostgreSQL: a user's bots listed and read (never
// a token or a secret), a bot registered by its token (checked with getMe on the fake Bot API),
// a bot registered twice refused, unlink, delete (refused while tasks are open unless forced);
// another user's plugin is 404.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { randomToken, startStack, type Stack } from "../support/stack.ts";
import { client, insertQueuedTasks, taskFromChat, userWithBot } from "../support/api-client.ts";
import { deletePlugin as cliDeletePlugin } from "../../src/plugins/manage.ts";
import { deleteBot } from "../../src/dashboard/bot-actions.ts";

for (const target of dbTargets()) {
  describe(`plugin API (${target.name})`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack(target);
    });
    after(async () => {
      await s.stop();
    });
    const count = async () => (await s.rt.store.db.selectFrom("plugin_configs").select("id").execute()).length;

    test("register a bot by its token: getMe gives the username; list and show never carry the token or the secret; a second registration is 409", async () => {
      const u = await userWithBot(s);
      const api = client(s.baseUrl, u.token);
      const token = randomToken();
      s.fake.addBot({ token, username: "nuevo_api_bot" });
      const r = await api.post("/plugins", { token, idioma: "en" });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.identificador, "@nuevo_api_bot");
      assert.equal(r.body.usuario_id, u.usuarioId);
      assert.equal(r.body.verificado, false);
      assert.match(r.body.codigo_verificacion, /^JOE-[A-Z0-9]{4}$/);
      assert.equal(r.body.deep_link, `https://t.me/nuevo_api_bot?start=${r.body.codigo_verificacion}`);
      assert.equal(r.body.metadatos.idioma, "en");
      const list = await api.get("/plugins");
      assert.deepEqual(
        list.body.items.map((p: any) => p.id),
        [u.bot.pluginId, r.body.id],
      );
      const shown = JSON.stringify([list.body, (await api.get(`/plugins/${r.body.id}`)).body]);
      assert.ok(!shown.includes(token) && !shown.includes(token.split(":")[1]!), "no token");
      assert.ok(!shown.includes(u.bot.secret), "no webhook secret");
      assert.ok(!shown.includes("token_cifrado"));

      const before = await count();
      const again = await api.post("/plugins", { token });
      assert.equal(again.status, 409);
      assert.equal(again.body.error_code, "PLUGIN_EXISTS");
      assert.equal(await count(), before, "nothing created");
    });

    test("a bad token, one Telegram refuses, or a bad field: 400 naming the field, nothing created, the token never echoed", async () => {
      const u = await userWithBot(s);
      const api = client(s.baseUrl, u.token);
      const before = await count();
      const unknown = randomToken(); // well formed, but the fake Bot API does not know it: 401 from getMe
      for (const [body, field] of [
        [{ token: "not-a-token" }, /body\/token/],
        [{ token: unknown }, /body\/token was refused by Telegram/],
        [{}, /body\/token is required/],
        [{ token: unknown, idioma: "fr" }, /body\/idioma/],
        [{ token: unknown, webhook_secret: "x" }, /body\/webhook_secret is not a known field/],
      ] as const) {
        const r = await api.post("/plugins", body);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.error_code, "INVALID_INPUT");
        assert.match(r.body.description, field);
        assert.ok(!JSON.stringify(r.body).includes(unknown.split(":")[1]!));
      }
      assert.equal(await count(), before);
    });

    test("another user's plugin is 404 for every route; unlink issues a new code; delete refuses open tasks unless forced", async () => {
      const a = await userWithBot(s);
      const b = await userWithBot(s);
      const other = client(s.baseUrl, b.token);
      for (const r of [
        await other.get(`/plugins/${a.bot.pluginId}`),
        await other.post(`/plugins/${a.bot.pluginId}/unlink`),
        await other.del(`/plugins/${a.bot.pluginId}?force=true`),
      ]) {
        assert.equal(r.status, 404);
        assert.equal(r.body.error_code, "PLUGIN_NOT_FOUND");
      }
      assert.deepEqual(
        (await other.get("/plugins")).body.items.map((p: any) => p.id),
        [b.bot.pluginId],
      );

      const api = client(s.baseUrl, a.token);
      const t = await taskFromChat(s, a, "abierta");
      const un = await api.post(`/plugins/${a.bot.pluginId}/unlink`);
      assert.equal(un.status, 200);
      assert.equal(un.body.verificado, false);
      assert.equal(un.body.chat_id_verificado, null);
      assert.notEqual(un.body.codigo_verificacion, a.bot.codigo);

      const refused = await api.del(`/plugins/${a.bot.pluginId}`);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error_code, "PLUGIN_HAS_OPEN_TASKS");
      assert.equal((await api.get(`/tasks/${t.codigo}`)).status, 200, "nothing deleted");
      const deletes = s.fake.callsOf("deleteWebhook", a.bot.token).length;
      const gone = await api.del(`/plugins/${a.bot.pluginId}?force=true`);
      assert.equal(gone.status, 200);
      assert.deepEqual(gone.body, { ok: true, id: a.bot.pluginId });
      assert.equal((await api.get(`/plugins/${a.bot.pluginId}`)).status, 404);
      assert.equal((await api.get(`/tasks/${t.codigo}`)).status, 404);
      assert.equal(s.fake.callsOf("deleteWebhook", a.bot.token).length, deletes + 1, "Telegram told to stop delivering");
      assert.equal((await api.del("/plugins/abc")).status, 400);
    });

    test("every delete (API, CLI, dashboard) leaves no polling_state nor stt_jobs behind", async () => {
      const db = s.rt.store.db;
      const leftovers = async (pluginId: number, taskIds: number[]) => ({
        polling: (await db.selectFrom("polling_state").select("plugin_id").where("plugin_id", "=", pluginId).execute()).length,
        stt: (await db.selectFrom("stt_jobs").select("task_id").where("task_id", "in", taskIds).execute()).length,
        tasks: (await db.selectFrom("tasks").select("id").where("id", "in", taskIds).execute()).length,
      });
      const seed = async () => {
        const u = await userWithBot(s);
        const pid = u.bot.pluginId;
        const ids = await insertQueuedTasks(db, s.rt.store.seam, { usuarioId: u.usuarioId, pluginId: pid, chatId: u.chatId }, 2, 900);
        await db.updateTable("tasks").set({ estado: "done" }).where("id", "in", ids).execute();
        await db
          .insertInto("polling_state")
          .values({ plugin_id: pid, update_offset: 4242, lease_owner: null, last_poll_at: null, last_error: null, last_error_at: null, retry_at: null })
          .onConflict((oc) => oc.column("plugin_id").doUpdateSet({ update_offset: 4242 }))
          .execute();
        await db
          .insertInto("stt_jobs")
          .values(
            ids.map((task_id) => ({ task_id, estado: "pending", next_attempt_at: Date.now(), lease_until: null, last_error: null, updated_at: Date.now() })),
          )
          .execute();
        assert.deepEqual(await leftovers(pid, ids), { polling: 1, stt: 2, tasks: 2 });
        return { u, pid, ids };
      };
      // All three first: on SQLite a plugin created after a delete may reuse the deleted id.
      const a = await seed();
      const c = await seed();
      const d = await seed();
      // The API.
      assert.equal((await client(s.baseUrl, a.u.token).del(`/plugins/${a.pid}`)).status, 200);
      assert.deepEqual(await leftovers(a.pid, a.ids), { polling: 0, stt: 0, tasks: 0 });
      // The CLI's function (tasks but --force).
      await assert.rejects(cliDeletePlugin(db, s.rt.store.seam, c.pid, { force: false }), /task/);
      assert.equal((await cliDeletePlugin(db, s.rt.store.seam, c.pid, { force: true })).tasks_deleted, 2);
      assert.deepEqual(await leftovers(c.pid, c.ids), { polling: 0, stt: 0, tasks: 0 });
      // The dashboard's.
      const row = await db.selectFrom("plugin_configs").selectAll().where("id", "=", d.pid).executeTakeFirstOrThrow();
      await deleteBot({ db, seam: s.rt.store.seam, fernet: s.rt.keys.fernet, apiRoot: s.fake.url, logger: s.rt.logger }, row);
      assert.deepEqual(await leftovers(d.pid, d.ids), { polling: 0, stt: 0, tasks: 0 });
    });
  });
}
