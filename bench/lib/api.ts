// Shared by the /api/v1 benchmarks: a fresh database with bots (bench/lib/joe.ts), a bulk insert
// of tasks in one SQL statement, an API token, and the real server started in this process
// (workers off) on 127.0.0.1.
import { Writable } from "node:stream";
import { sql } from "kysely";
import { generateKey } from "../../src/crypto/fernet.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, startServer, type Running } from "../../src/runtime.ts";
import { createApiToken } from "../../src/api/tokens.ts";
import { createBots, postgresDb, sqliteDb, withStore, type BenchDb } from "./joe.ts";

export async function benchDb(kind: string): Promise<BenchDb> {
  if (kind === "sqlite") return sqliteDb();
  const d = await postgresDb();
  if ("unavailable" in d) throw new Error(`PostgreSQL unavailable: ${d.unavailable}`);
  return d;
}

/**
 * `n` tasks for plugin/user 1 (90 %) and 2 (10 %): 5 % queued, 2 % failed, the rest done; every
 * 20th a voice task; titles "tarea <i> comprar pan", and every 10,000th also says "zanahoria"
 * (a rare word: a search for it must look at most rows).
 */
export async function bulkTasks(db: BenchDb, n: number): Promise<void> {
  await withStore(db, async ({ db: k, seam }) => {
    // The real codes (tasks/codigo.ts, 4 characters below 1,679,616): T- + base 36 of (A·id + B) mod 36^4.
    const x = sql`((1234567891 * cast(i as bigint) + 987654321) % 1679616)`;
    const digit = (div: number) => sql`substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', cast((${x} / ${sql.lit(div)}) % 36 as integer) + 1, 1)`;
    const codigo = sql`'T-' || ${digit(46656)} || ${digit(1296)} || ${digit(36)} || ${digit(1)}`;
    const cols = sql`(id, codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at)`;
    const owner = sql`case when i % 10 = 0 then 2 else 1 end`;
    const tipo = sql`case when i % 20 = 3 then 'telegram_voice' else 'telegram' end`;
    const titulo = sql`'tarea ' || i || case when i % 10000 = 7 then ' zanahoria' else ' comprar pan' end`;
    const estado = sql`case when i % 20 = 1 then 'queued' when i % 50 = 2 then 'failed' else 'done' end`;
    if (seam.name === "sqlite") {
      await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${n})
        insert into tasks ${cols} select i, ${codigo}, ${owner}, ${owner}, ${tipo}, ${titulo}, ${estado}, 1000, i,
          json_object('chat_id', 1000, 'message_id', i, 'texto_original', 'tarea ' || i || ' texto completo'), '2026-01-01T00:00:00Z' from n`.execute(k);
      await sql`analyze`.execute(k);
    } else {
      await sql`insert into tasks ${cols} select i, ${codigo}, ${owner}, ${owner}, ${tipo}, ${titulo}, ${estado}, 1000, i,
          jsonb_build_object('chat_id', 1000, 'message_id', i, 'texto_original', 'tarea ' || i || ' texto completo'), '2026-01-01T00:00:00Z'
        from generate_series(1, ${n}::int) i`.execute(k);
      await sql`vacuum analyze tasks`.execute(k);
    }
  });
}

export interface ApiBench {
  db: BenchDb;
  running: Running;
  baseUrl: string;
  token: string;
  stop(): Promise<void>;
}

export async function startApiBench(kind: string, prepare: (db: BenchDb) => Promise<void>): Promise<ApiBench> {
  const db = await benchDb(kind);
  const fernetKey = generateKey();
  await createBots(db, fernetKey, 2);
  await prepare(db);
  const token = await withStore(db, async ({ db: k }) => (await createApiToken(k, 1, "bench")).token);
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: db.dataDir,
    DATABASE_URL: db.url,
    FERNET_KEYS: fernetKey,
    TELEGRAM_API_ROOT: "http://127.0.0.1:9",
    LOG_LEVEL: "warn",
    API_RATE_LIMIT_PER_MINUTE: "100000000",
  });
  const rt = await openRuntime({
    config,
    logger: createLogger(
      "warn",
      new Writable({
        write(_c, _e, cb) {
          cb();
        },
      }),
    ),
  });
  const running = await startServer(rt, { workers: false });
  return {
    db,
    running,
    baseUrl: running.url!.replace("localhost", "127.0.0.1"),
    token,
    async stop() {
      await running.stop();
      await db.drop();
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
