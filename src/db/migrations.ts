// Schema migrations, written once for both dialects through the seam's column types. Kysely's
// Migrator takes a lock table, so several instances may start (and migrate) at once.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import type { Db, DialectSeam } from "./dialect.ts";

function initial(seam: DialectSeam): Migration {
  const t = seam.columns;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("users")
        .ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("plugin_configs")
        .ifNotExists()
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

      await db.schema
        .createTable("tasks")
        .ifNotExists()
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

      await db.schema
        .createTable("processed_updates")
        .ifNotExists()
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("update_id", "bigint", (c) => c.notNull())
        .addColumn("chat_id", "bigint")
        .addColumn("message_id", "bigint")
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("processed_updates_pk", ["plugin_id", "update_id"])
        .modifyEnd(t.keyedTableSuffix)
        .execute();

      await db.schema
        .createTable("unparsed_updates")
        .ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("plugin_id", "bigint", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .addColumn("error", "text", (c) => c.notNull())
        .addColumn("received_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("outgoing_messages")
        .ifNotExists()
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
      await db.schema
        .createIndex("outgoing_open_idx")
        .ifNotExists()
        .on("outgoing_messages")
        .column("id")
        .where(sql<boolean>`status in ('pending', 'sending')`)
        .execute();
      await db.schema
        .createIndex("outgoing_open_chat_idx")
        .ifNotExists()
        .on("outgoing_messages")
        .columns(["plugin_id", "chat_id", "id"])
        .where(sql<boolean>`status in ('pending', 'sending')`)
        .execute();
      // At most one message in flight per chat, whatever races between workers' claims.
      await db.schema
        .createIndex("outgoing_one_sending_per_chat")
        .ifNotExists()
        .on("outgoing_messages")
        .unique()
        .columns(["plugin_id", "chat_id"])
        .where(sql<boolean>`status = 'sending'`)
        .execute();

      await db.schema
        .createTable("chat_state")
        .ifNotExists()
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
// new task wrote into a random page of that index, about tripling the WAL written per task
// (bench/NOTES.md). A task is found by its code through taskIdFromCodigo and the primary key.
function tasksCodigoNotIndexed(seam: DialectSeam): Migration {
  return { up: (db) => seam.migrations.dropTaskCodigoUnique(db) };
}

// The feed (events/append.ts): every change to a task or a plugin's link, numbered in commit order.
function events(seam: DialectSeam): Migration {
  const t = seam.columns;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("events")
        .ifNotExists()
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
      await db.schema
        .createTable("api_tokens")
        .ifNotExists()
        .addColumn("id", seam.columns.autoId, (c) => c.primaryKey())
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

// Readiness (http/readiness.ts): one row that /readyz rewrites, so that "ready" means a write
// commits, not only that a connection answers `select 1`.
function hardeningTransport(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("health_probe")
        .ifNotExists()
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("checked_at", "bigint", (c) => c.notNull())
        .execute();
      await db.insertInto("health_probe").values({ id: 1, checked_at: 0 }).execute();
    },
  };
}

// The task lifecycle (tasks/lifecycle.ts): a claimed task holds a lease (`lease_until`, epoch ms)
// taken by an API token (`claimed_by`); `attempts` counts claims, `updated_at` (epoch ms) the
// last change. All nullable or defaulted: the webhook's inserts name their columns and stay as
// they are. Indexes: a user's tasks newest first (the API's list and cursor), the queued tasks
// of a user oldest first (claims), and leases by expiry (only in_progress rows, so it stays small).
function taskLifecycle(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("tasks").addColumn("lease_until", "bigint").execute();
      await db.schema.alterTable("tasks").addColumn("claimed_by", "bigint").execute();
      await db.schema
        .alterTable("tasks")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable("tasks").addColumn("updated_at", "bigint").execute();
      await db.schema.createIndex("tasks_user_id_idx").ifNotExists().on("tasks").columns(["usuario_id", "id"]).execute();
      await db.schema.createIndex("tasks_queued_idx").ifNotExists().on("tasks").columns(["usuario_id", "id"]).where(sql<boolean>`estado = 'queued'`).execute();
      await db.schema
        .createIndex("tasks_lease_idx")
        .ifNotExists()
        .on("tasks")
        .columns(["usuario_id", "lease_until"])
        .where(sql<boolean>`estado = 'in_progress'`)
        .execute();
    },
  };
}

// The feed's ordering and outgoing webhooks (feed/). On PostgreSQL each event records the id of
// the transaction that wrote it: readers only return events of transactions older than every
// transaction still running, in (txid, id) order, so a cursor never moves past an event that
// commits later (see ARCHITECTURE.md, "The feed"). SQLite has one writer: ids are commit order.
function eventFeed(seam: DialectSeam): Migration {
  const t = seam.columns;
  return {
    async up(db: Kysely<any>) {
      if (!seam.capabilities.idsInCommitOrder) {
        await sql`alter table events add column if not exists txid xid8 not null default pg_current_xact_id()`.execute(db);
        await db.schema.createIndex("events_user_txid_idx").ifNotExists().on("events").columns(["usuario_id", "txid", "id"]).execute();
      }
      await db.schema
        .createTable("subscriptions")
        .ifNotExists()
        .addColumn("id", t.autoId, (c) => c.primaryKey())
        .addColumn("usuario_id", "bigint", (c) => c.notNull().references("users.id"))
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("events", t.json, (c) => c.notNull())
        // Fernet-encrypted like bot tokens: it must be read back to sign each delivery.
        .addColumn("secret_cifrado", "text", (c) => c.notNull())
        // The feed cursor of the last event delivered (or skipped): the durable queue is the events table.
        .addColumn("cursor", "text", (c) => c.notNull())
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("leased_until", "bigint")
        .addColumn("lease_token", "text")
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("failing_since", "bigint")
        .addColumn("last_error", "text")
        .addColumn("delivered", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("given_up", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("last_given_up_event_id", "bigint")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("subscriptions_user_idx").ifNotExists().on("subscriptions").columns(["usuario_id", "id"]).execute();
    },
  };
}

// Replying /deshacer to a confirmation names the confirmation's Telegram message id: find its
// task through an index over sent replies that belong to a task (the outbox keeps its history,
// so without it every such reply would read the whole table).
function chatFeatures(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createIndex("outgoing_sent_task_idx")
        .ifNotExists()
        .on("outgoing_messages")
        .columns(["plugin_id", "chat_id", "telegram_message_id"])
        .where(sql<boolean>`telegram_message_id is not null and task_id is not null`)
        .execute();
    },
  };
}

// Polling mode (src/polling/): per bot, the getUpdates offset Joe has committed up to, the lease
// that lets one instance alone poll it, and what the last poll saw (shown by `plugin show`).
function polling(_seam: DialectSeam): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("polling_state")
        .ifNotExists()
        .addColumn("plugin_id", "bigint", (c) => c.primaryKey())
        .addColumn("update_offset", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("lease_owner", "text")
        .addColumn("lease_until", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("last_poll_at", "bigint")
        .addColumn("last_error", "text")
        .addColumn("last_error_at", "bigint")
        .addColumn("retry_at", "bigint")
        .execute();
    },
  };
}

// The dashboard's sign-in: one-time login links and browser sessions, both stored as SHA-256
// hashes of the secret that only the user's browser (or terminal) holds.
function dashboard(seam: DialectSeam): Migration {
  const t = seam.columns;
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("dashboard_login_links")
        .ifNotExists()
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("usuario_id", "bigint", (c) => c.notNull().references("users.id"))
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("used_at", "bigint")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .modifyEnd(t.keyedTableSuffix)
        .execute();
      await db.schema
        .createTable("dashboard_sessions")
        .ifNotExists()
        .addColumn("token_hash", "text", (c) => c.primaryKey())
        .addColumn("usuario_id", "bigint", (c) => c.notNull().references("users.id"))
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .modifyEnd(t.keyedTableSuffix)
        .execute();
    },
  };
}

// Voice transcription jobs (stt/): one row per voice task once a worker has taken it. Pending
// voice notes are found through a partial index that holds only them (the expression must be
// the one stt/jobs.ts queries with).
export function pendingSttPredicate(seam: DialectSeam): string {
  return `tipo = 'telegram_voice' and ${seam.json.flagIsTrueLiteral("metadatos_extra", "pendiente_stt")}`;
}

function sttJobs(seam: DialectSeam): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("stt_jobs")
        .ifNotExists()
        .addColumn("task_id", "bigint", (c) => c.primaryKey())
        .addColumn("estado", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
        .addColumn("lease_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("tasks_pending_stt_idx")
        .ifNotExists()
        .on("tasks")
        .column("id")
        .where(sql.raw<boolean>(pendingSttPredicate(seam)))
        .execute();
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
    "0011_hardening_transport": hardeningTransport(),
    "0013_task_lifecycle": taskLifecycle(),
    "0014_event_feed": eventFeed(seam),
    "0007_chat_features": chatFeatures(),
    "0008_polling": polling(seam),
    "0009_dashboard": dashboard(seam),
    "0010_stt": sttJobs(seam),
  };
}

export async function migrate(db: Db, seam: DialectSeam): Promise<void> {
  await seam.migrations.withLock(db, async (conn) => {
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
    await seam.migrations.after?.(conn);
  });
}
