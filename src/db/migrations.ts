// Schema migrations, written once for both dialects through the seam's column types. Kysely's
// Migrator takes a lock table, so several instances may start (and migrate) at once.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import type { Db, DialectSeam } from "./dialect.ts";

function initial(seam: DialectSeam): Migration {
  const t = seam.types;
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("users").ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema.createTable("plugin_configs").ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("usuario_id", "bigint", (c) => c.notNull().references("users.id"))
        .addColumn("servicio", "text", (c) => c.notNull())
        .addColumn("identificador", "text", (c) => c.notNull())
        .addColumn("metadatos", t.json, (c) => c.notNull())
        .addColumn("token_cifrado", "text", (c) => c.notNull())
        .addColumn("codigo_verificacion", "text", (c) => c.notNull().unique())
        .addColumn("verificado", t.boolean, (c) => c.notNull())
        .addColumn("chat_id_verificado", "bigint")
        .addColumn("intentos_fallidos", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("bloqueado_en", "bigint")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();

      await db.schema.createTable("tasks").ifNotExists()
        .addColumn("id", t.assignedId, (c) => c.primaryKey())
        .addColumn("codigo", "text", (c) => c.notNull().unique())
        .addColumn("usuario_id", "bigint", (c) => c.notNull())
        .addColumn("plugin_id", "bigint", (c) => c.notNull().references("plugin_configs.id"))
        .addColumn("tipo", "text", (c) => c.notNull())
        .addColumn("titulo", "text", (c) => c.notNull())
        .addColumn("estado", "text", (c) => c.notNull())
        .addColumn("chat_id", "bigint", (c) => c.notNull())
        .addColumn("message_id", "bigint", (c) => c.notNull())
        .addColumn("metadatos_extra", t.json, (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        // One task per Telegram message, whatever update carried it.
        .addUniqueConstraint("tasks_message_unique", ["plugin_id", "chat_id", "message_id"])
        .execute();

      await db.schema.createTable("processed_updates").ifNotExists()
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("update_id", "bigint", (c) => c.notNull())
        .addColumn("chat_id", "bigint")
        .addColumn("message_id", "bigint")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("processed_updates_pk", ["plugin_id", "update_id"])
        .modifyEnd(t.keyedTableSuffix)
        .execute();

      await db.schema.createTable("unparsed_updates").ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema.createTable("outgoing_messages").ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("chat_id", "bigint", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("text", "text", (c) => c.notNull())
        .addColumn("reply_to_message_id", "bigint")
        .addColumn("task_id", "bigint")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("claimed_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("telegram_message_id", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("sent_at", "bigint")
        .execute();
      // Partial indexes over the open (pending/sending) messages only: the sender's claims stay
      // cheap however long the history of sent messages grows.
      await db.schema.createIndex("outgoing_open_idx").ifNotExists().on("outgoing_messages")
        .column("id").where(sql<boolean>`status in ('pending', 'sending')`).execute();
      await db.schema.createIndex("outgoing_open_chat_idx").ifNotExists().on("outgoing_messages")
        .columns(["plugin_id", "chat_id", "id"]).where(sql<boolean>`status in ('pending', 'sending')`).execute();
      // At most one message in flight per chat, whatever races between workers' claims.
      await db.schema.createIndex("outgoing_one_sending_per_chat").ifNotExists().on("outgoing_messages").unique()
        .columns(["plugin_id", "chat_id"]).where(sql<boolean>`status = 'sending'`).execute();

      await db.schema.createTable("chat_state").ifNotExists()
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("chat_id", "bigint", (c) => c.notNull())
        .addColumn("last_warned_at", "bigint")
        .addColumn("failed_starts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("failed_window_started_at", "bigint")
        .addColumn("next_send_at", "bigint")
        .addPrimaryKeyConstraint("chat_state_pk", ["plugin_id", "chat_id"])
        .modifyEnd(t.keyedTableSuffix)
        .execute();
    },
  };
}

// Task codes are a bijection of the task id (tasks/codigo.ts), so the primary key already makes
// them unique. The index behind the UNIQUE constraint was pure cost: codes are scrambled, so each
// new task wrote into a random page of that index — measured 7.0 KB of WAL per task with it,
// 2.4 KB without. A task is found by its code through taskIdFromCodigo and the primary key.
function tasksCodigoNotIndexed(seam: DialectSeam): Migration {
  return { up: (db) => seam.dropTaskCodigoUnique(db) };
}

// The feed (events/append.ts): every change to a task or a plugin's link, numbered in commit order.
function events(seam: DialectSeam): Migration {
  const t = seam.types;
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("events").ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("usuario_id", "bigint", (c) => c.notNull())
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("task_id", "bigint")
        .addColumn("at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_user_idx").ifNotExists().on("events").columns(["usuario_id", "id"]).execute();
    },
  };
}

// API tokens for /api/v1 (api/tokens.ts): stored as digests only.
function apiTokens(seam: DialectSeam): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("api_tokens").ifNotExists()
        .addColumn("id", seam.types.autoId, (c) => c.primaryKey())
        .addColumn("usuario_id", "bigint", (c) => c.notNull().references("users.id"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("prefix", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("last_used_at", "text")
        .addColumn("revoked_at", "text")
        .execute();
    },
  };
}

// Voice transcription jobs (stt/): one row per voice task once a worker has taken it. Pending
// voice notes are found through a partial index that holds only them (the expression must be
// the one stt/jobs.ts queries with).
export const PENDING_STT_PREDICATE = {
  sqlite: "tipo = 'telegram_voice' and json_extract(metadatos_extra, '$.pendiente_stt') = 1",
  postgres: "tipo = 'telegram_voice' and (metadatos_extra ->> 'pendiente_stt') = 'true'",
} as const;

function sttJobs(seam: DialectSeam): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable("stt_jobs").ifNotExists()
        .addColumn("task_id", "bigint", (c) => c.primaryKey())
        .addColumn("estado", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("lease_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("tasks_pending_stt_idx").ifNotExists().on("tasks").column("id")
        .where(sql.raw<boolean>(PENDING_STT_PREDICATE[seam.name])).execute();
    },
  };
}

// One entry per migration, in order. Each feature appends its own line.
export function migrationsFor(seam: DialectSeam): Record<string, Migration> {
  return {
    "0001_initial": initial(seam),
    "0002_tasks_codigo_not_indexed": tasksCodigoNotIndexed(seam),
    "0003_events": events(seam),
    "0005_api_tokens": apiTokens(seam),
    "0010_stt": sttJobs(seam),
  };
}

export async function migrate(db: Db, seam: DialectSeam): Promise<void> {
  await seam.withMigrationLock(db, async (conn) => {
    const provider: MigrationProvider = { getMigrations: async () => migrationsFor(seam) };
    let { error, results } = await new Migrator({ db: conn, provider }).migrateToLatest();
    // Another process may have been migrating at the same moment (SQLite has no migration lock
    // of its own: its migrations wait on the write lock, then find their work done, but the
    // record of a migration can collide). Once more: what the other process did is skipped.
    if (error) ({ error, results } = await new Migrator({ db: conn, provider }).migrateToLatest());
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
      throw new Error(`database migration ${failed} failed: ${(error as Error).message ?? error}`);
    }
    await seam.afterMigrate?.(conn);
  });
}
