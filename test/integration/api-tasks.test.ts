// /api/v1/tasks over real HTTP against a running server, on SQLite and PostgreSQL: listing with
// filters, search and cursor; reading one task; claiming with a lease; complete / fail / cancel
// with the lifecycle's transitions; the result told in the chat once, replying to the original
// message; isolation between users (404), auth (401), validation (400 naming the field, nothing
// changed); the rate limit (429 + Retry-After); the OpenAPI document.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { client, insertQueuedTasks, taskFromChat, userWithBot } from "../support/api-client.ts";
import { until } from "../support/wait.ts";
import { claimTasks } from "../../src/tasks/lifecycle.ts";

for (const target of dbTargets()) {
  describe(`task API (${target.name})`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack(target);
    });
    after(async () => {
      await s.stop();
    });

    const stateOf = async (pluginId: number) =>
      (await s.rt.store.db.selectFrom("tasks").select(["codigo", "estado", "metadatos_extra"]).where("plugin_id", "=", pluginId).orderBy("id").execute())
        .map((r) => `${r.codigo}:${r.estado}`)
        .join(",");
    const eventsOf = async (usuarioId: number) =>
      (await s.rt.store.db.selectFrom("events").select(["type", "task_id"]).where("usuario_id", "=", usuarioId).orderBy("id").execute()).map(
        (e) => `${e.type}:${e.task_id}`,
      );

    test("list: newest first, filters, search in title and full text, cursor pages; a user sees only theirs; no token → 401", async () => {
      const a = await userWithBot(s);
      const b = await userWithBot(s);
      const t1 = await taskFromChat(s, a, "Comprar leche");
      const t2 = await taskFromChat(s, a, "Llamar al DENTISTA mañana");
      const t3 = await taskFromChat(s, a, "x".repeat(150) + " palabra-escondida al final");
      await taskFromChat(s, b, "Comprar pan (de B)");
      const api = client(s.baseUrl, a.token);

      const all = await api.get("/tasks");
      assert.equal(all.status, 200);
      assert.deepEqual(
        all.body.items.map((t: any) => t.codigo),
        [t3.codigo, t2.codigo, t1.codigo],
      );
      assert.equal(all.body.next_cursor, null);
      const first = all.body.items[2];
      assert.equal(first.titulo, "Comprar leche");
      assert.equal(first.estado, "queued");
      assert.equal(first.usuario_id, a.usuarioId);
      assert.equal(first.metadatos_extra.texto_original, "Comprar leche");
      assert.equal(first.lease_until, undefined);

      const p1 = await api.get("/tasks?limit=2");
      assert.deepEqual(
        p1.body.items.map((t: any) => t.codigo),
        [t3.codigo, t2.codigo],
      );
      assert.equal(typeof p1.body.next_cursor, "string");
      const p2 = await api.get(`/tasks?limit=2&cursor=${encodeURIComponent(p1.body.next_cursor)}`);
      assert.deepEqual(
        p2.body.items.map((t: any) => t.codigo),
        [t1.codigo],
      );
      assert.equal(p2.body.next_cursor, null);

      assert.deepEqual(
        (await api.get("/tasks?q=dentista")).body.items.map((t: any) => t.codigo),
        [t2.codigo],
        "case-insensitive title search",
      );
      assert.deepEqual(
        (await api.get("/tasks?q=palabra-escondida")).body.items.map((t: any) => t.codigo),
        [t3.codigo],
        "full text beyond the cut title",
      );
      assert.deepEqual((await api.get("/tasks?q=pan")).body.items, [], "another user's task is not found by search");
      assert.deepEqual((await api.get("/tasks?q=100%25")).body.items, [], "% is searched literally");
      assert.equal((await api.get(`/tasks?plugin_id=${b.bot.pluginId}`)).body.items.length, 0);
      assert.equal((await api.get(`/tasks?plugin_id=${a.bot.pluginId}&estado=queued&tipo=telegram&pendiente_stt=false`)).body.items.length, 3);
      assert.equal((await api.get("/tasks?pendiente_stt=true")).body.items.length, 0);
      assert.equal((await api.get("/tasks?estado=done")).body.items.length, 0);

      const one = await api.get(`/tasks/${t2.codigo}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.titulo, "Llamar al DENTISTA mañana");
      assert.equal((await api.get(`/tasks/${t2.codigo.toLowerCase()}`)).body.codigo, t2.codigo, "codes are read case-insensitively");

      const other = client(s.baseUrl, b.token);
      for (const r of [await other.get(`/tasks/${t2.codigo}`), await other.post(`/tasks/${t2.codigo}/cancel`), await api.get("/tasks/T-ZZZZZZZZ")]) {
        assert.equal(r.status, 404);
        assert.deepEqual(Object.keys(r.body).sort(), ["description", "error_code", "ok"]);
        assert.equal(r.body.error_code, "TASK_NOT_FOUND");
      }
      const anon = client(s.baseUrl, null);
      for (const r of [await anon.get("/tasks"), await anon.post("/tasks/claim", { limit: 1 }), await anon.get(`/tasks/${t2.codigo}`)]) {
        assert.equal(r.status, 401);
        assert.equal(r.body.error_code, "UNAUTHORIZED");
      }
      assert.match(await stateOf(a.bot.pluginId), /^(T-\w+:queued,?){3}$/, "nothing changed");
    });

    test("claim → complete: in_progress with a lease, then done; the chat gets one reply to the original message; a second complete is 409", async () => {
      const u = await userWithBot(s);
      const t = await taskFromChat(s, u, "Escribir el informe");
      await s.fake.waitForMessages(2, u.bot.token); // link + confirmation
      const api = client(s.baseUrl, u.token);

      const c = await api.post("/tasks/claim", { limit: 5, lease_seconds: 60 });
      assert.equal(c.status, 200);
      assert.equal(c.body.items.length, 1);
      const claimed = c.body.items[0];
      assert.equal(claimed.codigo, t.codigo);
      assert.equal(claimed.estado, "in_progress");
      const lease = Date.parse(claimed.lease_until);
      assert.ok(lease > Date.now() + 30_000 && lease <= Date.now() + 61_000, claimed.lease_until);
      assert.equal((await api.post("/tasks/claim", { limit: 5, lease_seconds: 60 })).body.items.length, 0, "not given twice");
      assert.equal((await api.get(`/tasks/${t.codigo}`)).body.lease_until, claimed.lease_until);

      const done = await api.post(`/tasks/${t.codigo}/complete`, { resultado: "Informe enviado" });
      assert.equal(done.status, 200);
      assert.equal(done.body.estado, "done");
      assert.equal(done.body.metadatos_extra.resultado, "Informe enviado");
      assert.equal(done.body.lease_until, undefined);
      await s.fake.waitForMessages(3, u.bot.token);
      const sent = s.fake.sentMessages(u.bot.token);
      const result = sent[2]!;
      assert.equal(result.text, `✔️ Hecho [${t.codigo}]: Informe enviado`);
      assert.equal(result.chat_id, u.chatId);
      assert.equal(result.reply_to_message_id, t.messageId);

      const again = await api.post(`/tasks/${t.codigo}/complete`, { resultado: "otra vez" });
      assert.equal(again.status, 409);
      assert.equal(again.body.error_code, "INVALID_TRANSITION");
      assert.match(again.body.description, /is done/);
      const cancel = await api.post(`/tasks/${t.codigo}/cancel`);
      assert.equal(cancel.status, 409);
      // The outbox has exactly one result row for the task, so nothing more will be sent.
      const rows = await s.rt.store.db.selectFrom("outgoing_messages").select("kind").where("task_id", "=", Number(claimed.id)).execute();
      assert.deepEqual(rows.map((r) => r.kind).sort(), ["confirmation", "result"]);
      assert.equal((await api.get(`/tasks/${t.codigo}`)).body.metadatos_extra.resultado, "Informe enviado");
      const ev = await eventsOf(u.usuarioId);
      assert.deepEqual(
        ev.filter((e) => e.startsWith("task.state_changed")),
        [`task.state_changed:${claimed.id}`, `task.state_changed:${claimed.id}`],
      );
    });

    test("fail with notify (English chat, long error cut to 4096), fail without notify, cancel from queued and from in_progress", async () => {
      const u = await userWithBot(s);
      const t1 = await taskFromChat(s, u, "Translate this", { languageCode: "en" });
      const t2 = await taskFromChat(s, u, "Otra");
      const t3 = await taskFromChat(s, u, "Tercera");
      const t4 = await taskFromChat(s, u, "Cuarta");
      await s.fake.waitForMessages(5, u.bot.token);
      const api = client(s.baseUrl, u.token);
      assert.equal((await api.post(`/tasks/${t1.codigo}/fail`, { error: "x" })).status, 409, "fail needs in_progress");
      const c = await api.post("/tasks/claim", { limit: 2, lease_seconds: 60 });
      assert.deepEqual(
        c.body.items.map((x: any) => x.codigo),
        [t1.codigo, t2.codigo],
        "oldest first",
      );

      const f = await api.post(`/tasks/${t1.codigo}/fail`, { error: "E".repeat(5000) });
      assert.equal(f.status, 200);
      assert.equal(f.body.estado, "failed");
      assert.equal(f.body.metadatos_extra.error.length, 5000, "stored whole");
      await s.fake.waitForMessages(6, u.bot.token);
      const msg = s.fake.sentMessages(u.bot.token)[5]!;
      assert.ok(msg.text.startsWith(`❌ Failed [${t1.codigo}]: EEE`), msg.text.slice(0, 40));
      assert.equal(msg.text.length, 4096);
      assert.equal(msg.reply_to_message_id, t1.messageId);

      const f2 = await api.post(`/tasks/${t2.codigo}/fail`, { error: "sin aviso", notify: false });
      assert.equal(f2.status, 200);
      assert.equal((await api.post(`/tasks/${t3.codigo}/cancel`)).body.estado, "cancelled");
      await api.post("/tasks/claim", { limit: 1, lease_seconds: 60 });
      assert.equal((await api.post(`/tasks/${t4.codigo}/cancel`, {})).body.estado, "cancelled");
      assert.equal((await api.post(`/tasks/${t3.codigo}/cancel`)).status, 409);
      assert.equal((await api.get("/tasks?estado=cancelled")).body.items.length, 2);
      // Let the sender run dry; nothing else was sent (no message for the silent fail, none for cancels).
      await until(
        async () =>
          (
            await s.rt.store.db
              .selectFrom("outgoing_messages")
              .select("id")
              .where("plugin_id", "=", u.bot.pluginId)
              .where("status", "in", ["pending", "sending"])
              .execute()
          ).length === 0,
        "outbox drained",
      );
      assert.equal(s.fake.sentMessages(u.bot.token).length, 6);
    });

    test("an expired lease puts the task back to queued (with an event); the late worker's complete is 409", async () => {
      const u = await userWithBot(s);
      const t = await taskFromChat(s, u, "Lenta");
      // A claim made 20 s ago with a 10 s lease: its lease ran out 10 s ago.
      const old = await claimTasks(
        s.rt.store.db,
        s.rt.store.seam,
        { usuarioId: u.usuarioId, tokenId: u.tokenId, limit: 1, leaseMs: 10_000 },
        Date.now() - 20_000,
      );
      assert.equal(old[0]!.codigo, t.codigo);
      const api = client(s.baseUrl, u.token);
      const late = await api.post(`/tasks/${t.codigo}/complete`, { resultado: "tarde" });
      assert.equal(late.status, 409);
      assert.match(late.body.description, /lease/);
      const again = await api.post("/tasks/claim", { limit: 1, lease_seconds: 30 });
      assert.deepEqual(
        again.body.items.map((x: any) => x.codigo),
        [t.codigo],
        "claimable again",
      );
      const row = await s.rt.store.db.selectFrom("tasks").select("attempts").where("codigo", "=", t.codigo).executeTakeFirstOrThrow();
      assert.equal(Number(row.attempts), 2);
      const ev = (await eventsOf(u.usuarioId)).filter((e) => e.startsWith("task.state_changed"));
      assert.equal(ev.length, 3, "claimed, back to queued, claimed again");
      assert.equal((await api.post(`/tasks/${t.codigo}/complete`, {})).status, 200);
    });

    test("lease_id: a worker whose lease ran out and whose task was claimed again cannot complete it (409); the new claimer can", async () => {
      const u = await userWithBot(s);
      const t = await taskFromChat(s, u, "Disputada");
      const api = client(s.baseUrl, u.token);
      const first = await api.post("/tasks/claim", { limit: 1, lease_seconds: 60 });
      const oldLease = first.body.items[0].lease_id;
      assert.equal(typeof oldLease, "string");
      // The first worker's lease runs out.
      await s.rt.store.db
        .updateTable("tasks")
        .set({ lease_until: Date.now() - 1000 })
        .where("codigo", "=", t.codigo)
        .execute();
      const second = await api.post("/tasks/claim", { limit: 1, lease_seconds: 60 });
      assert.deepEqual(
        second.body.items.map((x: any) => x.codigo),
        [t.codigo],
      );
      const newLease = second.body.items[0].lease_id;
      assert.notEqual(newLease, oldLease);
      assert.equal((await api.get(`/tasks/${t.codigo}`)).body.lease_id, newLease);
      const late = await api.post(`/tasks/${t.codigo}/complete`, { resultado: "tarde", lease_id: oldLease });
      assert.equal(late.status, 409);
      assert.equal(late.body.error_code, "INVALID_TRANSITION");
      assert.match(late.body.description, /lease was lost/);
      const lateFail = await api.post(`/tasks/${t.codigo}/fail`, { error: "tarde", lease_id: oldLease });
      assert.equal(lateFail.status, 409);
      assert.equal((await api.get(`/tasks/${t.codigo}`)).body.estado, "in_progress", "unchanged");
      const ok = await api.post(`/tasks/${t.codigo}/complete`, { resultado: "a tiempo", lease_id: newLease, notify: false });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.estado, "done");
      assert.equal(ok.body.lease_id, undefined);
      const doc = (await (await fetch(`${s.baseUrl}/api/v1/openapi.json`)).json()) as any;
      assert.ok(JSON.stringify(doc.paths["/api/v1/tasks/{codigo}/complete"]).includes("lease_id"), "the OpenAPI document shows lease_id on complete");
      assert.ok(JSON.stringify(doc.paths["/api/v1/tasks/{codigo}/fail"]).includes("lease_id"), "and on fail");
    });

    test("a result is told only in the chat the plugin is still linked to: unlinked or relinked elsewhere → no message, state still changes", async () => {
      const u = await userWithBot(s);
      const t1 = await taskFromChat(s, u, "Primera");
      const t2 = await taskFromChat(s, u, "Segunda");
      const api = client(s.baseUrl, u.token);
      const claimed = (await api.post("/tasks/claim", { limit: 2, lease_seconds: 60 })).body.items as any[];
      assert.equal(claimed.length, 2);
      const kinds = async (codigo: string) =>
        (
          await s.rt.store.db
            .selectFrom("outgoing_messages")
            .innerJoin("tasks", "tasks.id", "outgoing_messages.task_id")
            .select("outgoing_messages.kind")
            .where("tasks.codigo", "=", codigo)
            .execute()
        )
          .map((r) => r.kind)
          .sort();
      // Linked to another chat meanwhile.
      await s.rt.store.db
        .updateTable("plugin_configs")
        .set({ chat_id_verificado: u.chatId + 1 })
        .where("id", "=", u.bot.pluginId)
        .execute();
      const done = await api.post(`/tasks/${t1.codigo}/complete`, { resultado: "hecho" });
      assert.equal(done.status, 200);
      assert.equal(done.body.estado, "done");
      assert.deepEqual(await kinds(t1.codigo), ["confirmation"], "no result for the old chat");
      // Unlinked.
      await s.rt.store.db.updateTable("plugin_configs").set({ verificado: 0, chat_id_verificado: null }).where("id", "=", u.bot.pluginId).execute();
      const failed = await api.post(`/tasks/${t2.codigo}/fail`, { error: "roto" });
      assert.equal(failed.status, 200);
      assert.equal(failed.body.estado, "failed");
      assert.deepEqual(await kinds(t2.codigo), ["confirmation"], "no failure message for an unlinked bot");
    });

    test("bad input: 400 INVALID_INPUT naming the field, and nothing changes", async () => {
      const u = await userWithBot(s);
      const t = await taskFromChat(s, u, "Intacta");
      const api = client(s.baseUrl, u.token);
      const cases: Array<[Promise<{ status: number; body: any }>, RegExp]> = [
        [api.post("/tasks/claim", { limit: 51, lease_seconds: 60 }), /body\/limit/],
        [api.post("/tasks/claim", { limit: 0 }), /body\/limit/],
        [api.post("/tasks/claim", { limit: "5" }), /body\/limit/],
        [api.post("/tasks/claim", { limit: 1, lease_seconds: 5 }), /body\/lease_seconds/],
        [api.post("/tasks/claim", { limit: 1, lease_seconds: 3601 }), /body\/lease_seconds/],
        [api.post("/tasks/claim", { limt: 1 }), /body\/limt is not a known field/],
        [api.post("/tasks/claim", { limit: 1, plugin_id: -3 }), /body\/plugin_id/],
        [api.post(`/tasks/${t.codigo}/fail`, {}), /body\/error is required/],
        [api.post(`/tasks/${t.codigo}/complete`, { resultado: 42 }), /body\/resultado/],
        [api.post(`/tasks/${t.codigo}/complete`, { notify: "yes" }), /body\/notify/],
        [api.get("/tasks?limit=0"), /querystring\/limit/],
        [api.get("/tasks?limit=abc"), /querystring\/limit/],
        [api.get("/tasks?estado=hecho"), /querystring\/estado must be one of queued/],
        [api.get("/tasks?cursor=nonsense"), /cursor/],
        [api.get("/tasks?colour=red"), /querystring\/colour is not a known field/],
        [api.get("/tasks/not-a-code"), /params\/codigo/],
      ];
      for (const [p, field] of cases) {
        const r = await p;
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.body.ok, false);
        assert.equal(r.body.error_code, "INVALID_INPUT");
        assert.match(r.body.description, field);
      }
      assert.equal(await stateOf(u.bot.pluginId), `${t.codigo}:queued`);
      assert.deepEqual(
        (await eventsOf(u.usuarioId)).filter((e) => e.startsWith("task.state_changed")),
        [],
      );
    });

    test("claims filter by tipo and plugin_id, and take at most `limit`", async () => {
      const u = await userWithBot(s);
      await insertQueuedTasks(s.rt.store.db, s.rt.store.seam, { usuarioId: u.usuarioId, pluginId: u.bot.pluginId, chatId: u.chatId }, 7, 10_000);
      const api = client(s.baseUrl, u.token);
      assert.equal((await api.post("/tasks/claim", { limit: 1, tipo: "telegram_voice" })).body.items.length, 0);
      assert.equal((await api.post("/tasks/claim", { limit: 3, plugin_id: u.bot.pluginId + 100000 })).body.items.length, 0);
      const r = await api.post("/tasks/claim", { limit: 5, tipo: "telegram", plugin_id: u.bot.pluginId });
      assert.equal(r.body.items.length, 5);
      assert.equal((await api.post("/tasks/claim", {})).body.items.length, 1, "defaults: one task");
      assert.equal((await api.get("/tasks?estado=queued")).body.items.length, 1);
    });

    test("the OpenAPI document is generated, public, and lists every route", async () => {
      const r = await fetch(`${s.baseUrl}/api/v1/openapi.json`);
      assert.equal(r.status, 200);
      const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
      assert.match(doc.openapi, /^3\./);
      const routes = Object.entries(doc.paths)
        .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
        .sort();
      for (const want of [
        "GET /api/v1/tasks",
        "GET /api/v1/tasks/{codigo}",
        "POST /api/v1/tasks/claim",
        "POST /api/v1/tasks/{codigo}/complete",
        "POST /api/v1/tasks/{codigo}/fail",
        "POST /api/v1/tasks/{codigo}/cancel",
        "GET /api/v1/me",
        "GET /api/v1/plugins",
        "GET /api/v1/plugins/{id}",
        "POST /api/v1/plugins",
        "POST /api/v1/plugins/{id}/unlink",
        "DELETE /api/v1/plugins/{id}",
      ])
        assert.ok(routes.includes(want), `${want} in ${routes.join(", ")}`);
      assert.ok(!routes.some((x) => x.includes("webhook") || x.includes("openapi")), "only the API");
      const claim = doc.paths["/api/v1/tasks/claim"]!.post as any;
      assert.equal(claim.requestBody.content["application/json"].schema.properties.limit.maximum, 50);
    });
  });

  describe(`API rate limit (${target.name})`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack(target, { env: { API_RATE_LIMIT_PER_MINUTE: "5" } });
    });
    after(async () => {
      await s.stop();
    });

    test("per token: the 6th request in a minute is 429 with Retry-After; another token is not affected", async () => {
      const u = await userWithBot(s);
      const v = await userWithBot(s);
      const api = client(s.baseUrl, u.token);
      for (let i = 0; i < 5; i++) assert.equal((await api.get("/tasks")).status, 200);
      const r = await api.get("/tasks");
      assert.equal(r.status, 429);
      assert.equal(r.body.error_code, "RATE_LIMITED");
      assert.equal(r.body.ok, false);
      const retry = Number(r.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 60, String(retry));
      assert.equal((await client(s.baseUrl, v.token).get("/tasks")).status, 200);
    });
  });
}
