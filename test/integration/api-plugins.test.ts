// /api/v1/plugins over real HTTP, on SQLite and PostgreSQL: a user's bots listed and read (never
// a token or a secret), a bot registered by its token (checked with getMe on the fake Bot API),
// a bot registered twice refused, unlink, delete (refused while tasks are open unless forced);
// another user's plugin is 404.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { randomToken, startStack, type Stack } from "../support/stack.ts";
import { client, taskFromChat, userWithBot } from "../support/api-client.ts";

for (const target of dbTargets()) {
  describe(`plugin API (${target.name})`, () => {
    let s: Stack;
    before(async () => { s = await startStack(target); });
    after(async () => { await s.stop(); });
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
      assert.deepEqual(list.body.items.map((p: any) => p.id), [u.bot.pluginId, r.body.id]);
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
      for (const r of [await other.get(`/plugins/${a.bot.pluginId}`), await other.post(`/plugins/${a.bot.pluginId}/unlink`), await other.del(`/plugins/${a.bot.pluginId}?force=true`)]) {
        assert.equal(r.status, 404);
        assert.equal(r.body.error_code, "PLUGIN_NOT_FOUND");
      }
      assert.deepEqual((await other.get("/plugins")).body.items.map((p: any) => p.id), [b.bot.pluginId]);

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
  });
}
