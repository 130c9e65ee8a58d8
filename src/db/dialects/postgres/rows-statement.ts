// PostgreSQL: a run of plans that only write rows (messages from linked chats, decided on the
// webhook's cached plugin state) in ONE statement — one round trip, its own implicit transaction —
// instead of BEGIN, plugin, ids, marks, tasks, events, replies, COMMIT.
//
// The same steps as webhook/write-plans.ts, as data-modifying CTEs over column arrays (unnest, so
// the SQL text is the same for any number of rows):
//   held       — rows whose plugin still exists and, for a message, is still linked to that chat
//                (the check that the cached state a plan rests on still holds);
//   marks      — their processed-update marks, upserted as webhook/sql/upsert-mark.ts does;
//   new_tasks  — the tasks of newly marked rows; a message that already has its task gets none;
//   new_events — a `task.created` event per new task (never a task without its event);
//   sent       — the replies of newly marked rows, a confirmation only with its new task.
// Each insert is ordered by (plugin, update_id): the one lock order every writer uses, and the
// order of the outgoing ids (the sender keeps each chat's messages in id order).
// The columns come from webhook/rows.ts's builders; each has its PostgreSQL type below, so a
// column added to a builder and not here fails to compile instead of being silently dropped.
import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../dialect.ts";
import type { EventInsert, MarkRow, OutgoingInsert, TaskInsert } from "../../../webhook/rows.ts";

const MARK: Record<keyof MarkRow, string> = {
  plugin_id: "bigint",
  update_id: "bigint",
  chat_id: "bigint",
  message_id: "bigint",
  outcome: "text",
  received_at: "bigint",
};
const TASK: Record<keyof TaskInsert, string> = {
  id: "bigint",
  codigo: "text",
  usuario_id: "bigint",
  plugin_id: "bigint",
  tipo: "text",
  titulo: "text",
  estado: "text",
  chat_id: "bigint",
  message_id: "bigint",
  metadatos_extra: "jsonb",
  created_at: "text",
};
const EVENT: Record<keyof EventInsert, string> = { type: "text", usuario_id: "bigint", plugin_id: "bigint", task_id: "bigint", at: "bigint" };
const OUTGOING: Record<keyof OutgoingInsert, string> = {
  plugin_id: "bigint",
  chat_id: "bigint",
  kind: "text",
  text: "text",
  reply_to_message_id: "bigint",
  task_id: "bigint",
  status: "text",
  next_attempt_at: "bigint",
  created_at: "bigint",
};

export interface RowsRun {
  mark: MarkRow;
  task: TaskInsert | null;
  /** The task's `task.created` event (null with no task). */
  event: EventInsert | null;
  reply: OutgoingInsert | null;
}

/** What the statement did with one row. */
export interface RowsRunOutcome {
  /** The plugin exists and (for a message) its linked chat is still this chat. */
  held: boolean;
  /** The mark was new or taken over (false: a duplicate). */
  marked: boolean;
  taskInserted: boolean;
}

type Part = { prefix: string; types: Record<string, string>; pick: (r: RowsRun) => Record<string, unknown> | null };
const PARTS: Part[] = [
  { prefix: "m_", types: MARK, pick: (r) => r.mark },
  { prefix: "t_", types: TASK, pick: (r) => r.task },
  { prefix: "e_", types: EVENT, pick: (r) => r.event },
  { prefix: "o_", types: OUTGOING, pick: (r) => r.reply },
];
/** Arrays of jsonb are passed as text[] and cast per value. */
const arrayType = (t: string) => (t === "jsonb" ? "text" : t);
const cols = (p: Part) => Object.keys(p.types);
const list = (names: string[]) => sql.raw(names.join(", "));
/** `h.t_metadatos_extra::jsonb, …`: a part's input columns, cast to the table's types. */
const selected = (p: Part, alias: string) =>
  sql.raw(
    cols(p)
      .map((c) => `${alias}.${p.prefix}${c}${p.types[c] === "jsonb" ? "::jsonb" : ""}`)
      .join(", "),
  );

export async function writeRowsRun(db: Db, rows: RowsRun[]): Promise<RowsRunOutcome[]> {
  if (rows.length === 0) return [];
  const arrays: RawBuilder<unknown>[] = [];
  const names: string[] = [];
  for (const p of PARTS) {
    for (const c of cols(p)) {
      arrays.push(sql`${rows.map((r) => p.pick(r)?.[c] ?? null)}::${sql.raw(arrayType(p.types[c]!))}[]`);
      names.push(p.prefix + c);
    }
  }
  const [M, T, E, O] = PARTS as [Part, Part, Part, Part];
  const r = await sql<{ ord: string | number; held: boolean; marked: boolean; task_inserted: boolean }>`
    with input as (
      select * from unnest(${sql.join(arrays)}) with ordinality as i(${list(names)}, ord)
    ),
    held as (
      select i.* from input i join plugin_configs p on p.id = i.m_plugin_id
      where i.m_chat_id is null or (p.verificado and p.chat_id_verificado = i.m_chat_id)
      -- Waits for an unlink in progress (it changes the unique verification code) and then
      -- checks its result; the webhook's own link and counter updates do not conflict.
      for key share of p
    ),
    marks as (
      insert into processed_updates (${list(cols(M))})
      select ${selected(M, "held")} from held order by m_plugin_id, m_update_id
      on conflict (plugin_id, update_id) do update
        set chat_id = excluded.chat_id, message_id = excluded.message_id, outcome = excluded.outcome, received_at = excluded.received_at
        where processed_updates.chat_id is distinct from excluded.chat_id or processed_updates.message_id is distinct from excluded.message_id
      returning plugin_id, update_id
    ),
    new_tasks as (
      insert into tasks (${list(cols(T))})
      select ${selected(T, "h")}
      from held h join marks m on m.plugin_id = h.m_plugin_id and m.update_id = h.m_update_id
      where h.t_id is not null
      order by h.m_plugin_id, h.m_update_id
      on conflict (plugin_id, chat_id, message_id) do nothing
      returning id
    ),
    new_events as (
      insert into events (${list(cols(E))})
      select ${selected(E, "h")} from held h join new_tasks t on t.id = h.t_id
      order by h.t_id
    ),
    sent as (
      insert into outgoing_messages (${list(cols(O))})
      select ${selected(O, "h")}
      from held h join marks m on m.plugin_id = h.m_plugin_id and m.update_id = h.m_update_id
      where h.o_text is not null and (h.t_id is null or h.t_id in (select id from new_tasks))
      order by h.m_plugin_id, h.m_update_id
    )
    select i.ord, h.ord is not null as held, m.update_id is not null as marked, t.id is not null as task_inserted
    from input i
    left join held h on h.ord = i.ord
    left join marks m on m.plugin_id = i.m_plugin_id and m.update_id = i.m_update_id
    left join new_tasks t on t.id = i.t_id
    order by i.ord`.execute(db);
  const out: RowsRunOutcome[] = new Array(rows.length);
  for (const row of r.rows) out[Number(row.ord) - 1] = { held: row.held, marked: row.marked, taskInserted: row.task_inserted };
  return out;
}
