// Every table the code's Database type names exists after the migrations, on both dialects (a
// migration whose statement is built but never executed creates nothing, silently).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { dbTargets } from "../support/databases.ts";
import { openStore } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";

const TABLES = [
  "api_tokens",
  "chat_state",
  "dashboard_login_links",
  "dashboard_sessions",
  "events",
  "health_probe",
  "outgoing_messages",
  "plugin_configs",
  "polling_state",
  "processed_updates",
  "stt_jobs",
  "subscriptions",
  "tasks",
  "unparsed_updates",
  "users",
];

for (const target of dbTargets()) {
  describe(`schema (${target.name})`, () => {
    test("the migrations create every table the code uses", async () => {
      const database = await target.create();
      const store = await openStore(database.url);
      try {
        await migrate(store.db, store.seam);
        const rows =
          target.name === "sqlite"
            ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)).rows
            : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public'`.execute(store.db)).rows;
        const have = new Set(rows.map((r) => r.name));
        assert.deepEqual(
          TABLES.filter((t) => !have.has(t)),
          [],
          "missing tables",
        );
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
}
