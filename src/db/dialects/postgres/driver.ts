// The pg pool behind Kysely's PostgresDialect.
import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
import type { Database } from "../../schema.ts";
import type { Db } from "../../dialect.ts";

// BIGINT (int8) and COUNT come back as strings by default; every value we keep fits in 53 bits
// (Telegram chat ids are at most 52 bits), so read them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

export function connectPostgres(url: string, poolSize: number): Db {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // A client losing its connection (server restart, backend terminated) must not crash the
  // process: idle clients report to the pool, busy ones to themselves; the query in flight fails
  // with the error anyway, and the webhook answers 503.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
