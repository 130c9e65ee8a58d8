-- postgres schema after the migrations (npm run schema:dump writes this file)
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

CREATE TABLE api_tokens (
  id bigint NOT NULL DEFAULT nextval('api_tokens_id_seq'::regclass),
  usuario_id bigint NOT NULL,
  name text NOT NULL,
  prefix text NOT NULL,
  token_hash text NOT NULL,
  created_at text NOT NULL,
  last_used_at text,
  revoked_at text,
  CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT api_tokens_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES users(id)
);

CREATE TABLE chat_state (
  plugin_id bigint NOT NULL,
  chat_id bigint NOT NULL,
  last_warned_at bigint,
  failed_starts integer NOT NULL DEFAULT 0,
  failed_window_started_at bigint,
  next_send_at bigint,
  CONSTRAINT chat_state_pk PRIMARY KEY (plugin_id, chat_id)
);

CREATE TABLE dashboard_login_links (
  token_hash text NOT NULL,
  usuario_id bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint,
  created_at bigint NOT NULL,
  CONSTRAINT dashboard_login_links_pkey PRIMARY KEY (token_hash),
  CONSTRAINT dashboard_login_links_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES users(id)
);

CREATE TABLE dashboard_sessions (
  token_hash text NOT NULL,
  usuario_id bigint NOT NULL,
  expires_at bigint NOT NULL,
  created_at bigint NOT NULL,
  CONSTRAINT dashboard_sessions_pkey PRIMARY KEY (token_hash),
  CONSTRAINT dashboard_sessions_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES users(id)
);

CREATE TABLE events (
  id bigint NOT NULL DEFAULT nextval('events_id_seq'::regclass),
  type text NOT NULL,
  usuario_id bigint NOT NULL,
  plugin_id bigint NOT NULL,
  task_id bigint,
  at bigint NOT NULL,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT events_pkey PRIMARY KEY (id)
);

CREATE TABLE health_probe (
  id integer NOT NULL,
  checked_at bigint NOT NULL,
  CONSTRAINT health_probe_pkey PRIMARY KEY (id)
);

CREATE TABLE outgoing_messages (
  id bigint NOT NULL DEFAULT nextval('outgoing_messages_id_seq'::regclass),
  plugin_id bigint NOT NULL,
  chat_id bigint NOT NULL,
  kind text NOT NULL,
  text text NOT NULL,
  reply_to_message_id bigint,
  task_id bigint,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  claimed_until bigint,
  last_error text,
  telegram_message_id bigint,
  created_at bigint NOT NULL,
  sent_at bigint,
  CONSTRAINT outgoing_messages_pkey PRIMARY KEY (id)
);

CREATE TABLE plugin_configs (
  id bigint NOT NULL DEFAULT nextval('plugin_configs_id_seq'::regclass),
  usuario_id bigint NOT NULL,
  servicio text NOT NULL,
  identificador text NOT NULL,
  metadatos jsonb NOT NULL,
  token_cifrado text NOT NULL,
  codigo_verificacion text NOT NULL,
  verificado boolean NOT NULL,
  chat_id_verificado bigint,
  intentos_fallidos integer NOT NULL DEFAULT 0,
  bloqueado_en bigint,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  CONSTRAINT plugin_configs_codigo_verificacion_key UNIQUE (codigo_verificacion),
  CONSTRAINT plugin_configs_pkey PRIMARY KEY (id),
  CONSTRAINT plugin_configs_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES users(id)
);

CREATE TABLE polling_state (
  plugin_id bigint NOT NULL,
  update_offset bigint NOT NULL DEFAULT 0,
  lease_owner text,
  lease_until bigint NOT NULL DEFAULT 0,
  last_poll_at bigint,
  last_error text,
  last_error_at bigint,
  retry_at bigint,
  CONSTRAINT polling_state_pkey PRIMARY KEY (plugin_id)
);

CREATE TABLE processed_updates (
  plugin_id bigint NOT NULL,
  update_id bigint NOT NULL,
  chat_id bigint,
  message_id bigint,
  outcome text NOT NULL,
  received_at bigint NOT NULL,
  CONSTRAINT processed_updates_pk PRIMARY KEY (plugin_id, update_id)
);

CREATE TABLE stt_jobs (
  task_id bigint NOT NULL,
  estado text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  lease_until bigint,
  last_error text,
  updated_at bigint NOT NULL,
  CONSTRAINT stt_jobs_pkey PRIMARY KEY (task_id)
);

CREATE TABLE subscriptions (
  id bigint NOT NULL DEFAULT nextval('subscriptions_id_seq'::regclass),
  usuario_id bigint NOT NULL,
  url text NOT NULL,
  events jsonb NOT NULL,
  secret_cifrado text NOT NULL,
  cursor text NOT NULL,
  next_attempt_at bigint NOT NULL,
  leased_until bigint,
  lease_token text,
  attempts integer NOT NULL DEFAULT 0,
  failing_since bigint,
  last_error text,
  delivered bigint NOT NULL DEFAULT 0,
  given_up bigint NOT NULL DEFAULT 0,
  last_given_up_event_id bigint,
  created_at text NOT NULL,
  CONSTRAINT subscriptions_pkey PRIMARY KEY (id),
  CONSTRAINT subscriptions_usuario_id_fkey FOREIGN KEY (usuario_id) REFERENCES users(id)
);

CREATE TABLE tasks (
  id bigint NOT NULL,
  codigo text NOT NULL,
  usuario_id bigint NOT NULL,
  plugin_id bigint NOT NULL,
  tipo text NOT NULL,
  titulo text NOT NULL,
  estado text NOT NULL,
  chat_id bigint NOT NULL,
  message_id bigint NOT NULL,
  metadatos_extra jsonb NOT NULL,
  created_at text NOT NULL,
  lease_until bigint,
  claimed_by bigint,
  attempts integer NOT NULL DEFAULT 0,
  updated_at bigint,
  CONSTRAINT tasks_message_unique UNIQUE (plugin_id, chat_id, message_id),
  CONSTRAINT tasks_pkey PRIMARY KEY (id),
  CONSTRAINT tasks_plugin_id_fkey FOREIGN KEY (plugin_id) REFERENCES plugin_configs(id)
);

CREATE TABLE unparsed_updates (
  id bigint NOT NULL DEFAULT nextval('unparsed_updates_id_seq'::regclass),
  plugin_id bigint NOT NULL,
  body text NOT NULL,
  error text NOT NULL,
  received_at bigint NOT NULL,
  CONSTRAINT unparsed_updates_pkey PRIMARY KEY (id)
);

CREATE TABLE users (
  id bigint NOT NULL DEFAULT nextval('users_id_seq'::regclass),
  username text NOT NULL,
  created_at text NOT NULL,
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_username_key UNIQUE (username)
);

CREATE INDEX events_user_idx ON events USING btree (usuario_id, id);

CREATE INDEX events_user_txid_idx ON events USING btree (usuario_id, txid, id);

CREATE UNIQUE INDEX outgoing_one_sending_per_chat ON outgoing_messages USING btree (plugin_id, chat_id) WHERE (status = 'sending'::text);

CREATE INDEX outgoing_open_chat_idx ON outgoing_messages USING btree (plugin_id, chat_id, id) WHERE (status = ANY (ARRAY['pending'::text, 'sending'::text]));

CREATE INDEX outgoing_open_idx ON outgoing_messages USING btree (id) WHERE (status = ANY (ARRAY['pending'::text, 'sending'::text]));

CREATE INDEX outgoing_sent_task_idx ON outgoing_messages USING btree (plugin_id, chat_id, telegram_message_id) WHERE ((telegram_message_id IS NOT NULL) AND (task_id IS NOT NULL));

CREATE INDEX subscriptions_user_idx ON subscriptions USING btree (usuario_id, id);

CREATE INDEX tasks_lease_idx ON tasks USING btree (usuario_id, lease_until) WHERE (estado = 'in_progress'::text);

CREATE INDEX tasks_pending_stt_idx ON tasks USING btree (id) WHERE ((tipo = 'telegram_voice'::text) AND ((metadatos_extra ->> 'pendiente_stt'::text) = 'true'::text));

CREATE INDEX tasks_queued_idx ON tasks USING btree (usuario_id, id) WHERE (estado = 'queued'::text);

CREATE INDEX tasks_user_id_idx ON tasks USING btree (usuario_id, id);

CREATE SEQUENCE api_tokens_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY api_tokens.id;

CREATE SEQUENCE events_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY events.id;

CREATE SEQUENCE outgoing_messages_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY outgoing_messages.id;

CREATE SEQUENCE plugin_configs_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY plugin_configs.id;

CREATE SEQUENCE subscriptions_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY subscriptions.id;

CREATE SEQUENCE tasks_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1;

CREATE SEQUENCE unparsed_updates_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY unparsed_updates.id;

CREATE SEQUENCE users_id_seq AS bigint START 1 INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1 OWNED BY users.id;
