-- sqlite schema after the migrations (npm run schema:dump writes this file)
-- migration 0001_initial
-- migration 0002_tasks_codigo_not_indexed
-- migration 0003_events
-- migration 0005_api_tokens
-- migration 0007_chat_features
-- migration 0008_polling
-- migration 0009_dashboard
-- migration 0010_stt
-- migration 0011_hardening_transport
-- migration 0013_task_lifecycle
-- migration 0014_event_feed

CREATE TABLE "api_tokens" (
  "id" integer primary key,
  "usuario_id" bigint not null references "users" ("id"),
  "name" text not null,
  "prefix" text not null,
  "token_hash" text not null unique,
  "created_at" text not null,
  "last_used_at" text,
  "revoked_at" text
);

CREATE TABLE "chat_state" (
  "plugin_id" bigint not null,
  "chat_id" bigint not null,
  "last_warned_at" bigint,
  "failed_starts" integer default 0 not null,
  "failed_window_started_at" bigint,
  "next_send_at" bigint,
  constraint "chat_state_pk" primary key ("plugin_id", "chat_id")
) without rowid;

CREATE TABLE "dashboard_login_links" (
  "token_hash" text primary key,
  "usuario_id" bigint not null references "users" ("id"),
  "expires_at" bigint not null,
  "used_at" bigint,
  "created_at" bigint not null
) without rowid;

CREATE TABLE "dashboard_sessions" (
  "token_hash" text primary key,
  "usuario_id" bigint not null references "users" ("id"),
  "expires_at" bigint not null,
  "created_at" bigint not null
) without rowid;

CREATE TABLE "events" (
  "id" integer primary key,
  "type" text not null,
  "usuario_id" bigint not null,
  "plugin_id" bigint not null,
  "task_id" bigint,
  "at" bigint not null
);

CREATE TABLE "health_probe" (
  "id" integer primary key,
  "checked_at" bigint not null
);

CREATE TABLE "outgoing_messages" (
  "id" integer primary key,
  "plugin_id" bigint not null,
  "chat_id" bigint not null,
  "kind" text not null,
  "text" text not null,
  "reply_to_message_id" bigint,
  "task_id" bigint,
  "status" text not null,
  "attempts" integer default 0 not null,
  "next_attempt_at" bigint not null,
  "claimed_until" bigint,
  "last_error" text,
  "telegram_message_id" bigint,
  "created_at" bigint not null,
  "sent_at" bigint
);

CREATE TABLE "plugin_configs" (
  "id" integer primary key,
  "usuario_id" bigint not null references "users" ("id"),
  "servicio" text not null,
  "identificador" text not null,
  "metadatos" text not null,
  "token_cifrado" text not null,
  "codigo_verificacion" text not null unique,
  "verificado" integer not null,
  "chat_id_verificado" bigint,
  "intentos_fallidos" integer default 0 not null,
  "bloqueado_en" bigint,
  "created_at" text not null,
  "updated_at" text not null
);

CREATE TABLE "polling_state" (
  "plugin_id" bigint primary key,
  "update_offset" bigint default 0 not null,
  "lease_owner" text,
  "lease_until" bigint default 0 not null,
  "last_poll_at" bigint,
  "last_error" text,
  "last_error_at" bigint,
  "retry_at" bigint
);

CREATE TABLE "processed_updates" (
  "plugin_id" bigint not null,
  "update_id" bigint not null,
  "chat_id" bigint,
  "message_id" bigint,
  "outcome" text not null,
  "received_at" bigint not null,
  constraint "processed_updates_pk" primary key ("plugin_id", "update_id")
) without rowid;

CREATE TABLE "stt_jobs" (
  "task_id" bigint primary key,
  "estado" text not null,
  "attempts" integer default 0 not null,
  "next_attempt_at" bigint not null,
  "lease_until" bigint,
  "last_error" text,
  "updated_at" bigint not null
);

CREATE TABLE "subscriptions" (
  "id" integer primary key,
  "usuario_id" bigint not null references "users" ("id"),
  "url" text not null,
  "events" text not null,
  "secret_cifrado" text not null,
  "cursor" text not null,
  "next_attempt_at" bigint not null,
  "leased_until" bigint,
  "lease_token" text,
  "attempts" integer default 0 not null,
  "failing_since" bigint,
  "last_error" text,
  "delivered" bigint default 0 not null,
  "given_up" bigint default 0 not null,
  "last_given_up_event_id" bigint,
  "created_at" text not null
);

CREATE TABLE "tasks" (
  id integer primary key,
  codigo text not null,
  usuario_id bigint not null,
  plugin_id bigint not null references plugin_configs (id),
  tipo text not null,
  titulo text not null,
  estado text not null,
  chat_id bigint not null,
  message_id bigint not null,
  metadatos_extra text not null,
  created_at text not null,
  "lease_until" bigint,
  "claimed_by" bigint,
  "attempts" integer default 0 not null,
  "updated_at" bigint,
  constraint tasks_message_unique unique (plugin_id, chat_id, message_id)
);

CREATE TABLE "unparsed_updates" (
  "id" integer primary key,
  "plugin_id" bigint not null,
  "body" text not null,
  "error" text not null,
  "received_at" bigint not null
);

CREATE TABLE "users" (
  "id" integer primary key,
  "username" text not null unique,
  "created_at" text not null
);

CREATE INDEX "events_user_idx" on "events" ("usuario_id", "id");

CREATE UNIQUE INDEX "outgoing_one_sending_per_chat" on "outgoing_messages" ("plugin_id", "chat_id") where status = 'sending';

CREATE INDEX "outgoing_open_chat_idx" on "outgoing_messages" ("plugin_id", "chat_id", "id") where status in ('pending', 'sending');

CREATE INDEX "outgoing_open_idx" on "outgoing_messages" ("id") where status in ('pending', 'sending');

CREATE INDEX "outgoing_sent_task_idx" on "outgoing_messages" ("plugin_id", "chat_id", "telegram_message_id") where telegram_message_id is not null and task_id is not null;

CREATE INDEX "subscriptions_user_idx" on "subscriptions" ("usuario_id", "id");

CREATE INDEX "tasks_lease_idx" on "tasks" ("usuario_id", "lease_until") where estado = 'in_progress';

CREATE INDEX "tasks_pending_stt_idx" on "tasks" ("id") where tipo = 'telegram_voice' and json_extract(metadatos_extra, '$.pendiente_stt') = 1;

CREATE INDEX "tasks_queued_idx" on "tasks" ("usuario_id", "id") where estado = 'queued';

CREATE INDEX "tasks_user_id_idx" on "tasks" ("usuario_id", "id");
