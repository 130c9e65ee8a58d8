// The dashboard over real HTTP, without a browser: sign-in (one-time links, sessions), CSRF on
// every form, one user never seeing another's tasks or bots, adding a bot by token (getMe,
// duplicates refused), task actions with their events, live updates, retrying failed messages.
// On SQLite and, with TEST_DATABASE_URL, PostgreSQL.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, randomToken, type Stack, type TestBot } from "../support/stack.ts";
import { DashClient } from "../support/dashboard.ts";
import { deliveryModeOf } from "../../src/polling/mode.ts";
import { botHealth } from "../../src/dashboard/bot-actions.ts";
import { createLoginLink, hashSecret, LOGIN_LINK_TTL_MS } from "../../src/dashboard/auth-store.ts";

for (const target of dbTargets()) {
  describe(`dashboard over HTTP (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    let ownerId: number;
    let otherBot: TestBot;
    let otherId: number;
    const chat = 6101;
    const otherChat = 6102;

    const ownerOf = async (pluginId: number) =>
      Number((await stack.rt.store.db.selectFrom("plugin_configs").select("usuario_id").where("id", "=", pluginId).executeTakeFirstOrThrow()).usuario_id);
    const taskByText = async (pluginId: number, text: string) => {
      const t = (await stack.tasks(pluginId)).find((x) => x.titulo === text);
      assert.ok(t, `task "${text}"`);
      return t;
    };
    const estadoOf = async (id: number) => (await stack.rt.store.db.selectFrom("tasks").select("estado").where("id", "=", id).executeTakeFirstOrThrow()).estado;

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
      otherBot = await stack.addBot();
      ownerId = await ownerOf(bot.pluginId);
      otherId = await ownerOf(otherBot.pluginId);
      await stack.link(bot, chat);
      await stack.link(otherBot, otherChat);
    });
    after(() => stack.stop());

    it("without a session: pages redirect to the sign-in page, JSON answers 401, the sign-in page says what to run", async () => {
      const c = new DashClient(stack.baseUrl);
      const home = await c.get("/");
      assert.equal(home.status, 302);
      assert.equal(home.location, "/login");
      const live = await c.get("/live.json?after=0&ev=0");
      assert.equal(live.status, 401);
      assert.equal(JSON.parse(live.body).error_code, "SIGN_IN_REQUIRED");
      const login = await c.get("/login");
      assert.equal(login.status, 200);
      assert.match(login.body, /npx joe-telegram user login-link &lt;username&gt;/);
      assert.match(login.body, /<meta name="viewport"/);
      const post = await c.post(`/tasks/T-AAAA/cancel`, {}, { csrf: false });
      assert.equal(post.status, 401);
    });

    it("a login link signs in once; used again it is refused; the session cookie is HttpOnly, SameSite, and only its hash is stored", async () => {
      const { token } = await createLoginLink(stack.rt.store.db, ownerId);
      const c = new DashClient(stack.baseUrl);
      const r = await c.signInWith(token);
      const cookie = r.setCookies.find((s) => s.startsWith("joe_session="))!;
      assert.match(cookie, /HttpOnly/i);
      assert.match(cookie, /SameSite=Lax/i);
      const session = c.cookies.get("joe_session")!;
      const stored = await stack.rt.store.db.selectFrom("dashboard_sessions").select("token_hash").execute();
      assert.ok(stored.some((s) => s.token_hash === hashSecret(session)));
      assert.ok(!stored.some((s) => s.token_hash === session), "the session secret itself is not stored");
      assert.ok(!(await stack.rt.store.db.selectFrom("dashboard_login_links").select("token_hash").execute()).some((l) => l.token_hash === token));
      const home = await c.get("/");
      assert.equal(home.status, 200);
      assert.match(home.body, /Tasks/);

      // The same link again, in another browser: refused at the page and at the form.
      const again = new DashClient(stack.baseUrl);
      const page = await again.get(`/login/${token}`);
      assert.equal(page.status, 400);
      assert.match(page.body, /already used or expired/);
      // Posting the form directly, with a valid CSRF pair: the link itself is refused.
      again.cookies.set("_csrf", c.cookies.get("_csrf")!);
      const replay = await again.post(`/login/${token}`, {}, { csrf: c.csrf! });
      assert.equal(replay.status, 400);
      assert.equal(again.cookies.has("joe_session"), false);
    });

    it("an expired login link is refused and opens no session", async () => {
      const { token } = await createLoginLink(stack.rt.store.db, ownerId, Date.now() - LOGIN_LINK_TTL_MS - 1000);
      const c = new DashClient(stack.baseUrl);
      const page = await c.get(`/login/${token}`);
      assert.equal(page.status, 400);
      const before = (await stack.rt.store.db.selectFrom("dashboard_sessions").select("token_hash").execute()).length;
      const other = new DashClient(stack.baseUrl);
      await other.signIn(stack.rt.store.db, ownerId); // a valid CSRF pair to post with
      c.cookies.set("_csrf", other.cookies.get("_csrf")!);
      const post = await c.post(`/login/${token}`, {}, { csrf: other.csrf! });
      assert.equal(post.status, 400);
      assert.equal(c.cookies.has("joe_session"), false);
      assert.equal((await stack.rt.store.db.selectFrom("dashboard_sessions").select("token_hash").execute()).length, before + 1);
    });

    it("a form without its CSRF token is refused with 403 and changes nothing; with it the task is cancelled with its event", async () => {
      await stack.sendText(bot, chat, "comprar pan");
      const task = await taskByText(bot.pluginId, "comprar pan");
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      await c.get(`/tasks/${task.codigo}`);
      const missing = await c.post(`/tasks/${task.codigo}/cancel`, {}, { csrf: false });
      assert.equal(missing.status, 403);
      assert.match(missing.body, /reload the page/);
      const wrong = await c.post(`/tasks/${task.codigo}/cancel`, {}, { csrf: "not-a-token" });
      assert.equal(wrong.status, 403);
      assert.equal(await estadoOf(task.id), "queued");

      const ok = await c.post(`/tasks/${task.codigo}/cancel`);
      assert.equal(ok.status, 303);
      assert.equal(await estadoOf(task.id), "cancelled");
      const events = await stack.rt.store.db.selectFrom("events").selectAll().where("task_id", "=", task.id).execute();
      assert.deepEqual(
        events.map((e) => e.type),
        ["task.created", "task.state_changed"],
        "the capture, then the cancel",
      );
      // Cancelled is final: neither cancel nor done is allowed any more.
      await c.get(`/tasks/${task.codigo}`);
      const again = await c.post(`/tasks/${task.codigo}/done`);
      assert.equal(again.status, 409);
      assert.equal(await estadoOf(task.id), "cancelled");
    });

    it("mark done only from in_progress (SPEC): refused and not offered while queued; offered and applied once claimed", async () => {
      await stack.sendText(bot, chat, "llamar al banco");
      const task = await taskByText(bot.pluginId, "llamar al banco");
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      const queued = await c.get(`/tasks/${task.codigo}`);
      assert.doesNotMatch(queued.body, /id="action-done"/, "no Mark done while queued");
      assert.match(queued.body, /id="action-cancel"/);
      const refused = await c.post(`/tasks/${task.codigo}/done`);
      assert.equal(refused.status, 409);
      assert.equal(await estadoOf(task.id), "queued");
      await stack.rt.store.db
        .updateTable("tasks")
        .set({ estado: "in_progress", lease_until: Date.now() + 60_000 })
        .where("id", "=", task.id)
        .execute();
      const claimed = await c.get(`/tasks/${task.codigo}`);
      assert.match(claimed.body, /id="action-done"/);
      assert.equal((await c.post(`/tasks/${task.codigo}/done`)).status, 303);
      assert.equal(await estadoOf(task.id), "done");
    });

    it("a polled bot's health comes from polling_state: last poll time and last error", async () => {
      const token = randomToken();
      stack.fake.addBot({ token, username: "polled_health_bot" });
      const base = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
      // A plugin id no poller serves (so nothing rewrites its row meanwhile), with a webhook-less bot's token.
      const row = { ...base, id: 987_654, token_cifrado: stack.rt.keys.fernet.encrypt(token) };
      const deps = { db: stack.rt.store.db, seam: stack.rt.store.seam, fernet: stack.rt.keys.fernet, apiRoot: stack.fake.url, logger: stack.rt.logger };
      assert.deepEqual((await botHealth(deps, row)).polling, [], "nothing before the first poll");
      const polledAt = Date.UTC(2026, 0, 2, 3, 4, 5);
      await stack.rt.store.db
        .insertInto("polling_state")
        .values({
          plugin_id: 987_654,
          lease_owner: null,
          last_poll_at: polledAt,
          last_error: "409 Conflict: terminated by other getUpdates request",
          last_error_at: polledAt + 1000,
          retry_at: null,
        })
        .execute();
      const h = await botHealth(deps, row);
      assert.equal(h.mode, "polling");
      assert.deepEqual(h.polling, [
        ["Last poll", "2026-01-02T03:04:05.000Z"],
        ["Last polling error", "2026-01-02T03:04:06.000Z 409 Conflict: terminated by other getUpdates request"],
      ]);
      await stack.rt.store.db.deleteFrom("polling_state").where("plugin_id", "=", 987_654).execute();
    });

    it("another user's task and bot are 404, for pages and for actions", async () => {
      await stack.sendText(otherBot, otherChat, "secreto del otro");
      const foreign = await taskByText(otherBot.pluginId, "secreto del otro");
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      assert.equal((await c.get(`/tasks/${foreign.codigo}`)).status, 404);
      assert.equal((await c.post(`/tasks/${foreign.codigo}/cancel`)).status, 404);
      assert.equal(await estadoOf(foreign.id), "queued");
      assert.equal((await c.get(`/bots/${otherBot.pluginId}`)).status, 404);
      assert.equal((await c.get(`/bots/${otherBot.pluginId}/status.json`)).status, 404);
      assert.equal((await c.post(`/bots/${otherBot.pluginId}/unlink`)).status, 404);
      const home = await c.get("/");
      assert.doesNotMatch(home.body, /secreto del otro/);
      const other = new DashClient(stack.baseUrl);
      await other.signIn(stack.rt.store.db, otherId);
      assert.match((await other.get("/")).body, /secreto del otro/);
    });

    it("an expired session is refused, and expired sessions are deleted at the next sign-in", async () => {
      const stale = "stale-session-secret-for-the-test";
      await stack.rt.store.db
        .insertInto("dashboard_sessions")
        .values({ token_hash: hashSecret(stale), usuario_id: ownerId, expires_at: Date.now() - 1000, created_at: Date.now() - 10_000 })
        .execute();
      const c = new DashClient(stack.baseUrl);
      c.cookies.set("joe_session", stale);
      assert.equal((await c.get("/")).status, 302);
      await new DashClient(stack.baseUrl).signIn(stack.rt.store.db, ownerId);
      const gone = async () =>
        (await stack.rt.store.db.selectFrom("dashboard_sessions").select("token_hash").where("token_hash", "=", hashSecret(stale)).executeTakeFirst()) ===
        undefined;
      for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await gone(), "the expired session row was deleted");
    });

    it("sign-out ends the session in the database", async () => {
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      const session = c.cookies.get("joe_session")!;
      await c.get("/");
      const out = await c.post("/logout");
      assert.equal(out.status, 303);
      const stale = new DashClient(stack.baseUrl);
      stale.cookies.set("joe_session", session);
      assert.equal((await stale.get("/")).status, 302);
    });

    it("search, filters and the live endpoint: a new task shows up after the last one seen", async () => {
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      await stack.sendText(bot, chat, "llamar al fontanero");
      const first = await taskByText(bot.pluginId, "llamar al fontanero");
      const found = await c.get("/?q=FONTANERO");
      assert.match(found.body, /llamar al fontanero/);
      assert.doesNotMatch(found.body, /comprar pan/);
      assert.match((await c.get("/?estado=cancelled")).body, /comprar pan/);
      assert.doesNotMatch((await c.get("/?estado=cancelled")).body, /fontanero/);
      assert.doesNotMatch((await c.get("/?tipo=telegram_voice")).body, /fontanero/);
      const ev = Number(/data-ev="(\d+)"/.exec((await c.get("/")).body)![1]);

      await stack.sendText(bot, chat, "regar las plantas 100%");
      const live = JSON.parse((await c.get(`/live.json?after=${first.id}&ev=${ev}`)).body) as { items: Array<{ id: number; html: string }>; after: number };
      assert.equal(live.items.length, 1);
      assert.match(live.items[0]!.html, /regar las plantas 100%/);
      assert.ok(live.after > first.id);
      // A task changed through the dashboard comes back through the event cursor.
      const t = await taskByText(bot.pluginId, "regar las plantas 100%");
      await c.get(`/tasks/${t.codigo}`);
      assert.equal((await c.post(`/tasks/${t.codigo}/cancel`)).status, 303);
      const changed = JSON.parse((await c.get(`/live.json?after=${live.after}&ev=${ev}`)).body) as { items: Array<{ id: number; html: string }> };
      assert.deepEqual(
        changed.items.map((i) => i.id),
        [t.id],
      );
      assert.match(changed.items[0]!.html, /estado-cancelled/);
      // "%" is searched for literally, not as a wildcard.
      assert.doesNotMatch((await c.get("/?q=100%25x")).body, /regar/);
      assert.match((await c.get("/?q=100%25")).body, /regar/);
    });

    it("adds a bot by its token: the username comes from getMe; the same bot twice and bad tokens are refused with a message", async () => {
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      await c.get("/bots");
      const token = randomToken();
      stack.fake.addBot({ token, username: "pasted_joe_bot" });
      const added = await c.post("/bots", { token: `  ${token} ` });
      assert.equal(added.status, 303);
      const id = Number(/\/bots\/(\d+)/.exec(added.location!)![1]);
      const row = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      assert.equal(row.identificador, "@pasted_joe_bot");
      assert.equal(Number(row.usuario_id), ownerId);
      assert.ok(!row.token_cifrado.includes(token));
      const page = await c.get(added.location!);
      assert.equal(page.status, 200);
      assert.match(page.body, /<svg/);
      assert.match(page.body, new RegExp(`https://t.me/pasted_joe_bot\\?start=${row.codigo_verificacion}`));
      assert.match(page.body, /id="delivery-mode">polling/);
      assert.ok(!page.body.includes(token), "the token is never shown");

      const count = async () => (await stack.rt.store.db.selectFrom("plugin_configs").select("id").execute()).length;
      const n = await count();
      const dup = await c.post("/bots", { token });
      assert.equal(dup.status, 409);
      assert.match(dup.body, /@pasted_joe_bot is already one of your bots/);
      assert.ok(!dup.body.includes(token));
      // The same bot with a new token (revoked in BotFather): still the same bot.
      const renewed = `${token.split(":")[0]}:${randomToken().split(":")[1]}`;
      stack.fake.addBot({ token: renewed, username: "pasted_joe_bot" });
      assert.equal((await c.post("/bots", { token: renewed })).status, 409);
      // Another user pasting the first user's bot.
      const other = new DashClient(stack.baseUrl);
      await other.signIn(stack.rt.store.db, otherId);
      await other.get("/bots");
      const stolen = await other.post("/bots", { token });
      assert.equal(stolen.status, 409);
      assert.match(stolen.body, /registered on this server by another user/);
      // Not a token at all, and a token Telegram does not know.
      const junk = await c.post("/bots", { token: "hello" });
      assert.equal(junk.status, 400);
      assert.match(junk.body, /not a bot token/);
      const unknown = await c.post("/bots", { token: randomToken() });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body, /Telegram does not accept this token/);
      assert.equal(await count(), n);
    });

    it("the bot page shows the webhook's health; a failed message can be retried and is sent", async () => {
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      const page = await c.get(`/bots/${bot.pluginId}`);
      assert.match(page.body, /id="delivery-mode">webhook/);
      assert.match(page.body, /Points here<\/dt><dd>yes/);
      assert.match(page.body, /Linked to chat 6101/);
      const now = Date.now();
      const msg = await stack.rt.store.db
        .insertInto("outgoing_messages")
        .values({
          plugin_id: bot.pluginId,
          chat_id: chat,
          kind: "confirmation",
          text: "mensaje que falló",
          reply_to_message_id: null,
          task_id: null,
          status: "failed",
          attempts: 5,
          next_attempt_at: now,
          claimed_until: null,
          last_error: "403 Forbidden: bot was blocked by the user",
          telegram_message_id: null,
          created_at: now,
          sent_at: null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const withFailed = await c.get(`/bots/${bot.pluginId}`);
      assert.match(withFailed.body, /mensaje que falló/);
      assert.match(withFailed.body, /bot was blocked by the user/);
      const retry = await c.post(`/bots/${bot.pluginId}/messages/${Number(msg.id)}/retry`);
      assert.equal(retry.status, 303);
      await stack.fake.waitFor(() => stack.fake.sentMessages(bot.token).some((m) => m.text === "mensaje que falló"), 10_000, "retried message sent");
      assert.equal((await c.post(`/bots/${bot.pluginId}/messages/${Number(msg.id)}/retry`)).status, 404, "only a failed message can be retried");
    });

    it("unlink gives a new code with a plugin.unlinked event; delete removes the bot and its tasks", async () => {
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      await c.get(`/bots/${bot.pluginId}`);
      const unlinked = await c.post(`/bots/${bot.pluginId}/unlink`);
      assert.equal(unlinked.status, 303);
      const row = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
      assert.equal(Boolean(row.verificado), false);
      assert.notEqual(row.codigo_verificacion, bot.codigo);
      const ev = await stack.rt.store.db.selectFrom("events").selectAll().where("plugin_id", "=", bot.pluginId).where("type", "=", "plugin.unlinked").execute();
      assert.equal(ev.length, 1);
      const status = JSON.parse((await c.get(`/bots/${bot.pluginId}/status.json`)).body);
      assert.equal(status.verificado, false);

      await c.get(`/bots/${bot.pluginId}`);
      const deleted = await c.post(`/bots/${bot.pluginId}/delete`);
      assert.equal(deleted.status, 303);
      assert.equal((await stack.tasks(bot.pluginId)).length, 0);
      assert.equal(await stack.rt.store.db.selectFrom("plugin_configs").select("id").where("id", "=", bot.pluginId).executeTakeFirst(), undefined);
      assert.equal(stack.fake.webhookOf(bot.token), undefined, "the webhook was removed at Telegram");
      assert.equal((await c.get(`/bots/${bot.pluginId}`)).status, 404);
    });
  });

  describe(`dashboard over HTTP with PUBLIC_URL (${target.name})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack(target, { env: { PUBLIC_URL: "https://joe.example.org/" } });
    });
    after(() => stack.stop());

    it("adding a bot registers its webhook as the CLI does: ALLOWED_UPDATES, the command menu, delivery mode webhook", async () => {
      const owner = await stack.addBot();
      const ownerId = Number(
        (await stack.rt.store.db.selectFrom("plugin_configs").select("usuario_id").where("id", "=", owner.pluginId).executeTakeFirstOrThrow()).usuario_id,
      );
      const c = new DashClient(stack.baseUrl);
      await c.signIn(stack.rt.store.db, ownerId);
      await c.get("/bots");
      const token = randomToken();
      stack.fake.addBot({ token, username: "public_joe_bot" });
      const added = await c.post("/bots", { token });
      assert.equal(added.status, 303);
      const id = Number(/\/bots\/(\d+)/.exec(added.location!)![1]);
      const wh = stack.fake.webhookOf(token);
      assert.ok(wh, "the webhook is set");
      assert.equal(wh.url, `https://joe.example.org/plugins/telegram/webhook/${id}/`);
      assert.deepEqual(wh.allowed_updates, ["message", "edited_message"]);
      assert.ok(stack.fake.commandsOf(token).length > 0, "the command menu is registered");
      assert.ok(stack.fake.commandsOf(token, "en").length > 0, "in English too");
      const row = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
      assert.equal(deliveryModeOf(row, stack.rt.store.seam), "webhook");
      assert.match((await c.get(added.location!)).body, /id="delivery-mode">webhook/);
    });
  });
}
