// Table types for Kysely. Field names of plugin configs and tasks are the seed's (Spanish) names,
// kept verbatim. Booleans are written as 0/1 (both SQLite and PostgreSQL accept that for their
// column type) and read back through `Boolean()`. Times used for scheduling are epoch milliseconds.
import type { ColumnType, Generated, Insertable, Selectable } from "kysely";

/** JSON columns are text in SQLite and jsonb in PostgreSQL: written as a JSON string, read via dialect.parseJson. */
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
  status: string; // pending | sending | sent | failed
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
  stt_jobs: SttJobsTable;
}

export type PluginRow = Selectable<PluginConfigsTable>;
export type TaskRow = Selectable<TasksTable>;
export type NewTask = Insertable<TasksTable>;
export type OutgoingRow = Selectable<OutgoingMessagesTable>;
export type NewOutgoing = Insertable<OutgoingMessagesTable>;
export type ChatStateRow = Selectable<ChatStateTable>;
