// Every change is an event, written in the same transaction as the change (never an event for a
// change that rolled back, never a change without its event). Readers (the /api/v1 feed, SSE,
// subscriptions, the dashboard) read the `events` table; nothing else is the truth.
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.ts";

export const EVENT_TYPES = ["task.created", "task.updated", "task.state_changed", "plugin.linked", "plugin.unlinked"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NewEvent {
  type: EventType;
  usuario_id: number;
  plugin_id: number;
  task_id?: number | null;
  /** Epoch milliseconds. */
  at: number;
}

/** Appends events inside the caller's transaction (pass the transaction, not the pool). */
export async function appendEvents(trx: Kysely<Database>, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await trx
    .insertInto("events")
    .values(events.map((e) => ({ type: e.type, usuario_id: e.usuario_id, plugin_id: e.plugin_id, task_id: e.task_id ?? null, at: e.at })))
    .execute();
}

export function appendEvent(trx: Kysely<Database>, event: NewEvent): Promise<void> {
  return appendEvents(trx, [event]);
}
