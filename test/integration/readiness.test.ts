// Issue 10, item 5: GET /readyz says 503 when writes fail, not only when the database cannot be
// reached — in the project's error format — and 200 again once writes work. Two ways writes fail:
//  - the probe's own write fails (a trigger raising on it): readiness follows without traffic;
//  - the webhook's commits fail for lack of space while a one-row rewrite still succeeds
//    (SQLite: max_page_count pinned to the file's size, a real SQLITE_FULL; PostgreSQL: a trigger
//    raising disk_full, SQLSTATE 53100, on new tasks).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";

async function readyz(s: Stack): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${s.baseUrl}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function waitForStatus(s: Stack, status: number, timeoutMs = 20_000): Promise<{ status: number; body: Record<string, unknown> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await readyz(s);
    if (r.status === status) return r;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${r.status} ${JSON.stringify(r.body)}, expected ${status}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function assertOurError(body: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(body).sort(), ["description", "error_code", "ok"]);
  assert.equal(body.ok, false);
  assert.equal(body.error_code, "STORAGE_UNAVAILABLE");
  assert.equal(typeof body.description, "string");
}

for (const target of dbTargets()) {
  describe(`/readyz reflects failing writes (${target.name})`, () => {
    let s: Stack;
    let bot: TestBot;
    const chatId = 61_001;

    before(async () => {
      s = await startStack(target);
      bot = await s.addBot();
      await s.link(bot, chatId);
    });
    after(() => s.stop());

    it("the probe's write fails → 503 STORAGE_UNAVAILABLE; it works again → 200", async () => {
      assert.equal((await readyz(s)).status, 200);
      const db = s.rt.store.db;
      if (target.name === "sqlite") {
        await sql`create trigger health_fails before update on health_probe begin select raise(abort, 'injected write failure'); end`.execute(db);
      } else {
        await sql`create function health_fails() returns trigger language plpgsql as $$ begin raise exception 'injected write failure'; end $$`.execute(db);
        await sql`create trigger health_fails before update on health_probe for each row execute function health_fails()`.execute(db);
      }
      try {
        assertOurError((await waitForStatus(s, 503)).body);
      } finally {
        await sql`drop trigger health_fails${target.name === "sqlite" ? sql`` : sql` on health_probe`}`.execute(db);
        if (target.name === "postgres") await sql`drop function health_fails()`.execute(db);
      }
      assert.deepEqual((await waitForStatus(s, 200)).body, { ok: true });
    });

    it("webhook commits fail for lack of space (a small write still fits) → 503; once a commit succeeds → 200", async () => {
      const db = s.rt.store.db;
      assert.equal((await readyz(s)).status, 200);
      if (target.name === "sqlite") {
        const [{ page_count }] = (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows as [{ page_count: number }];
        await sql.raw(`pragma max_page_count = ${page_count}`).execute(db);
      } else {
        await sql`create function tasks_disk_full() returns trigger language plpgsql as $$ begin raise exception 'could not extend file: No space left on device' using errcode = '53100'; end $$`.execute(
          db,
        );
        await sql`create trigger tasks_disk_full before insert on tasks for each row execute function tasks_disk_full()`.execute(db);
      }
      let failed: { status: number; body: string };
      try {
        // A long text needs new pages; the database may not grow.
        failed = await s.sendText(bot, chatId, "lleno ".repeat(20_000));
        assert.equal(failed.status, 503, failed.body);
        assert.match(failed.body, /STORAGE_UNAVAILABLE/);
        const r = await readyz(s);
        assert.equal(r.status, 503, `readiness reflects the failed commit: ${JSON.stringify(r.body)}`);
        assertOurError(r.body);
      } finally {
        if (target.name === "sqlite") await sql.raw("pragma max_page_count = 4294967294").execute(db);
        else {
          await sql`drop trigger tasks_disk_full on tasks`.execute(db);
          await sql`drop function tasks_disk_full()`.execute(db);
        }
      }
      // Telegram delivers again; the commit succeeds, and the instance is ready again.
      const again = await s.sendText(bot, chatId, "ya cabe");
      assert.equal(again.status, 200, again.body);
      assert.deepEqual((await waitForStatus(s, 200)).body, { ok: true });
    });
  });
}
