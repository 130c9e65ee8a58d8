// PostgreSQL: a run of messages from linked chats written in ONE statement (one round trip, its
// own implicit transaction) instead of BEGIN, plugins, ids, marks, tasks, replies, COMMIT.
//
// The rows arrive as column arrays (unnest), so the SQL text is the same for any number of rows.
// Data-modifying CTEs chain the three inserts the way the transactional path does in code:
//   held  — rows whose plugin still exists and, for a message, is still linked to that chat
//           (the webhook decided on a cached state; this is the check that it still holds);
//   marks — their processed-update marks; an existing mark for the same message is a duplicate,
//           one naming another message (a reused update_id) is taken over;
//   tasks — the tasks of newly marked rows; a message that already has its task gets none;
//   sent  — the replies of newly marked rows, a confirmation only with its newly written task;
//   new_events — a `task.created` event per newly written task (events/append.ts: in the same
//           statement, so never an event without its task nor a task without its event).
// Each insert is ordered by (plugin, update_id): the one lock order every writer uses, and the
// order of the outgoing ids (the sender keeps each chat's messages in id order).
import { sql } from "kysely";
import type { Db, LinkedRunOutcome, LinkedRunRow } from "../dialect.ts";

export async function writeLinkedRun(db: Db, rows: LinkedRunRow[], now: number): Promise<LinkedRunOutcome[]> {
  if (rows.length === 0) return [];
  const col = <T>(pick: (r: LinkedRunRow) => T) => rows.map(pick);
  const r = await sql<{ ord: string | number; held: boolean; marked: boolean; task_inserted: boolean }>`
    with input as (
      select * from unnest(
        ${col((r) => r.pluginId)}::bigint[], ${col((r) => r.updateId)}::bigint[],
        ${col((r) => r.chatId)}::bigint[], ${col((r) => r.messageId)}::bigint[], ${col((r) => r.outcome)}::text[],
        ${col((r) => r.task?.id ?? null)}::bigint[], ${col((r) => r.task?.codigo ?? null)}::text[],
        ${col((r) => r.task?.usuario_id ?? null)}::bigint[], ${col((r) => r.task?.tipo ?? null)}::text[],
        ${col((r) => r.task?.titulo ?? null)}::text[], ${col((r) => r.task?.estado ?? null)}::text[],
        ${col((r) => r.task?.metadatos_extra ?? null)}::text[], ${col((r) => r.task?.created_at ?? null)}::text[],
        ${col((r) => r.reply?.kind ?? null)}::text[], ${col((r) => r.reply?.text ?? null)}::text[],
        ${col((r) => r.reply?.reply_to_message_id ?? null)}::bigint[]
      ) with ordinality as i(plugin_id, update_id, chat_id, message_id, outcome,
        task_id, codigo, usuario_id, tipo, titulo, estado, metadatos_extra, created_at,
        reply_kind, reply_text, reply_to, ord)
    ),
    held as (
      select i.* from input i join plugin_configs p on p.id = i.plugin_id
      where i.chat_id is null or (p.verificado and p.chat_id_verificado = i.chat_id)
      -- Waits for an unlink in progress (it changes the unique verification code) and then
      -- checks its result; the webhook's own link and counter updates do not conflict.
      for key share of p
    ),
    marks as (
      insert into processed_updates (plugin_id, update_id, chat_id, message_id, outcome, received_at)
      select plugin_id, update_id, chat_id, message_id, outcome, ${now} from held order by plugin_id, update_id
      -- An existing mark is this update again (a duplicate: left alone), unless it names
      -- another message: update_id restarted after a week of silence, so take the mark over.
      on conflict (plugin_id, update_id) do update
        set chat_id = excluded.chat_id, message_id = excluded.message_id, outcome = excluded.outcome, received_at = excluded.received_at
        where processed_updates.chat_id is distinct from excluded.chat_id or processed_updates.message_id is distinct from excluded.message_id
      returning plugin_id, update_id
    ),
    new_tasks as (
      insert into tasks (id, codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at)
      select h.task_id, h.codigo, h.usuario_id, h.plugin_id, h.tipo, h.titulo, h.estado, h.chat_id, h.message_id,
        h.metadatos_extra::jsonb, h.created_at
      from held h join marks m on m.plugin_id = h.plugin_id and m.update_id = h.update_id
      where h.task_id is not null
      order by h.plugin_id, h.update_id
      on conflict (plugin_id, chat_id, message_id) do nothing
      returning id, usuario_id, plugin_id
    ),
    new_events as (
      insert into events (type, usuario_id, plugin_id, task_id, at)
      select 'task.created', usuario_id, plugin_id, id, ${now} from new_tasks order by id
    ),
    sent as (
      insert into outgoing_messages (plugin_id, chat_id, kind, text, reply_to_message_id, task_id, status, next_attempt_at, created_at)
      select h.plugin_id, h.chat_id, h.reply_kind, h.reply_text, h.reply_to, h.task_id, 'pending', ${now}, ${now}
      from held h join marks m on m.plugin_id = h.plugin_id and m.update_id = h.update_id
      where h.reply_text is not null and (h.task_id is null or h.task_id in (select id from new_tasks))
      order by h.plugin_id, h.update_id
    )
    select i.ord, h.ord is not null as held, m.update_id is not null as marked, t.id is not null as task_inserted
    from input i
    left join held h on h.ord = i.ord
    left join marks m on m.plugin_id = i.plugin_id and m.update_id = i.update_id
    left join new_tasks t on t.id = i.task_id
    order by i.ord`.execute(db);
  const out: LinkedRunOutcome[] = new Array(rows.length);
  for (const row of r.rows) {
    out[Number(row.ord) - 1] = { stateHeld: row.held, marked: row.marked, taskInserted: row.task_inserted };
  }
  return out;
}
