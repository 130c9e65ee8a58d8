// Table types for Kysely. Field names of plugin configs and tasks are the seed's (Spanish) names,
// kept verbatim. Booleans are written as 0/1 (both SQLite and PostgreSQL accept that for their
// column type) and read back through `Boolean()`. Times used for scheduling are epoch milliseconds.
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

/** JSON columns are text in SQLite and jsonb in PostgreSQL: written as a JSON string, read via seam.json.parse. */
type Json = ColumnType<unknown, string, string>;

export interface UsersTable {
  id: Generated<number>;
  username: string;
  created_at: string;
}

export interface PluginConfigsTable {
  id: Generated<number>;
  usuario_id: number;
  servicio: string;
  identificador: string;
  metadatos: Json;
  token_cifrado: string;
  codigo_verificacion: string;
  verificado: ColumnType<boolean | number, number, number>;
  chat_id_verificado: number | null;
  /** Failed /start attempts against this bot since the last link/unlink (brute-force lockout). */
  intentos_fallidos: Generated<number>;
  /** When the bot was locked against linking (too many wrong codes); null = not locked. Cleared by unlink. */
  bloqueado_en: number | null;
  created_at: string;
  updated_at: string;
}

export interface TasksTable {
  id: number;
  codigo: string;
  usuario_id: number;
  plugin_id: number;
  tipo: string;
  titulo: string;
  estado: string;
  chat_id: number;
  message_id: number;
  metadatos_extra: Json;
  created_at: string;
  /** Migration 0013 (task lifecycle): optional on insert, so the webhook's inserts are unchanged. */
  lease_until: ColumnType<number | null, number | null | undefined, number | null>;
  claimed_by: ColumnType<number | null, number | null | undefined, number | null>;
  attempts: Generated<number>;
  updated_at: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface ProcessedUpdatesTable {
  plugin_id: number;
  update_id: number;
  chat_id: number | null;
  message_id: number | null;
  outcome: string;
  received_at: number;
}

export interface UnparsedUpdatesTable {
  id: Generated<number>;
  plugin_id: number;
  body: string;
  error: string;
  received_at: number;
}

export interface OutgoingMessagesTable {
  id: Generated<number>;
  plugin_id: number;
  chat_id: number;
  kind: string;
  text: string;
  reply_to_message_id: number | null;
  task_id: number | null;
  status: string; // pending | sending | sent | failed | unknown (sent, no answer: outbox/policy.ts)
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  last_error: string | null;
  telegram_message_id: number | null;
  created_at: number;
  sent_at: number | null;
}

export interface ChatStateTable {
  plugin_id: number;
  chat_id: number;
  last_warned_at: number | null;
  failed_starts: Generated<number>;
  failed_window_started_at: number | null;
  next_send_at: number | null;
}

export interface EventsTable {
  id: Generated<number>;
  type: string;
  usuario_id: number;
  plugin_id: number;
  task_id: number | null;
  /** Epoch milliseconds. */
  at: number;
}

export interface ApiTokensTable {
  id: Generated<number>;
  usuario_id: number;
  name: string;
  prefix: string;
  /** SHA-256 hex of the token; the token itself is never stored. */
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface SubscriptionsTable {
  id: Generated<number>;
  usuario_id: number;
  url: string;
  /** JSON array of event types. */
  events: Json;
  secret_cifrado: string;
  /** Feed cursor of the last event delivered (or given up). */
  cursor: string;
  next_attempt_at: number;
  leased_until: number | null;
  lease_token: string | null;
  attempts: Generated<number>;
  failing_since: number | null;
  last_error: string | null;
  delivered: Generated<number>;
  given_up: Generated<number>;
  last_given_up_event_id: number | null;
  created_at: string;
}

export interface PollingStateTable {
  plugin_id: number;
  /** The next update_id to ask getUpdates for: everything below it is committed. */
  update_offset: Generated<number>;
  /** The instance polling this bot, until lease_until (epoch ms). */
  lease_owner: string | null;
  lease_until: Generated<number>;
  last_poll_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** When the poller tries again after an error (a 409 backs off for long). */
  retry_at: number | null;
}

/** One-time sign-in links for the dashboard (the token itself is never stored). Times: epoch ms. */
export interface DashboardLoginLinksTable {
  token_hash: string;
  usuario_id: number;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

/** Dashboard browser sessions (the cookie's value is never stored). Times: epoch ms. */
export interface DashboardSessionsTable {
  token_hash: string;
  usuario_id: number;
  expires_at: number;
  created_at: number;
}

export interface SttJobsTable {
  task_id: number;
  /** pending (waiting for a retry) | transcribing (leased) | done | failed (for good) */
  estado: string;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_until: number | null;
  last_error: string | null;
  updated_at: number;
}

export interface Database {
  users: UsersTable;
  plugin_configs: PluginConfigsTable;
  tasks: TasksTable;
  processed_updates: ProcessedUpdatesTable;
  unparsed_updates: UnparsedUpdatesTable;
  outgoing_messages: OutgoingMessagesTable;
  chat_state: ChatStateTable;
  events: EventsTable;
  api_tokens: ApiTokensTable;
  health_probe: HealthProbeTable;
  subscriptions: SubscriptionsTable;
  polling_state: PollingStateTable;
  dashboard_login_links: DashboardLoginLinksTable;
  dashboard_sessions: DashboardSessionsTable;
  stt_jobs: SttJobsTable;
}

export type PluginRow = Selectable<PluginConfigsTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type OutgoingRow = Selectable<OutgoingMessagesTable>;
export type NewOutgoing = Insertable<OutgoingMessagesTable>;
export type ChatStateRow = Selectable<ChatStateTable>;

/** One row (id 1) that GET /readyz rewrites to prove a write commits (http/readiness.ts). */
export interface HealthProbeTable {
  id: number;
  checked_at: number;
}
