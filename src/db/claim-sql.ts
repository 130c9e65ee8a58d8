// The candidate query shared by both dialects' outbox.claim (dialects/*/outbox-claim.ts). It looks at a bounded window of
// open (pending/sending) messages in id order — through a partial index that holds only open
// rows — so a claim costs the same whether 10 or 100,000 messages are waiting. Within the
// window a message is due when it is the oldest open message of its chat (order kept), no
// message of its chat is in flight (ids of one chat may commit out of order when several web
// instances write), and its chat is not paced into the future. A unique partial index (one
// 'sending' row per chat) backs this up when two claims race. Only the locking differs per dialect.
import { sql, type RawBuilder } from "kysely";

export interface ClaimWindow {
  now: number;
  limit: number;
  /** Look at open messages with id > afterId … */
  afterId: number;
  /** … at most this many of them. */
  window: number;
}

export function dueOutgoingIds(w: ClaimWindow, lockClause: RawBuilder<unknown>): RawBuilder<{ id: number }> {
  // Candidates: per chat, the oldest open message in the window, plus any 'sending' row in it
  // (a stale claim may not be its chat's oldest when ids committed out of order). Only these can
  // pass the checks below, so a window full of one chat's backlog costs one check, not hundreds.
  return sql<{ id: number }>`
    with w as (
      select id, plugin_id, chat_id, status from outgoing_messages
      where status in ('pending', 'sending') and id > ${w.afterId}
      order by id limit ${w.window}
    )
    select m.id from (
      select min(id) as id from w group by plugin_id, chat_id
      union
      select id from w where status = 'sending'
    ) c join outgoing_messages m on m.id = c.id
    where (
        -- a pending message: due, no older open message in its chat, and none of its chat in flight
        m.status = 'pending' and m.next_attempt_at <= ${w.now}
        -- (each subquery repeats its index's condition word for word, so SQLite uses the
        -- partial index instead of scanning every older row)
        and not exists (
          select 1 from outgoing_messages p
          where p.plugin_id = m.plugin_id and p.chat_id = m.chat_id
            and p.status in ('pending', 'sending') and p.id < m.id)
        and not exists (
          select 1 from outgoing_messages p
          where p.plugin_id = m.plugin_id and p.chat_id = m.chat_id and p.status = 'sending')
      or
        -- a claim whose worker died: retake it, unless another message of its chat is in flight
        m.status = 'sending' and m.claimed_until < ${w.now}
        and not exists (
          select 1 from outgoing_messages p
          where p.plugin_id = m.plugin_id and p.chat_id = m.chat_id and p.id <> m.id and p.status = 'sending'))
      and not exists (
        select 1 from chat_state c
        where c.plugin_id = m.plugin_id and c.chat_id = m.chat_id and c.next_send_at > ${w.now})
    order by m.id
    limit ${w.limit}
    ${lockClause}`;
}

/** The last open id of the window, or null when the window reached the end (wrap around). */
export function windowEnd(w: ClaimWindow): RawBuilder<{ last: number | null; n: number }> {
  return sql<{ last: number | null; n: number }>`
    select max(id) as last, count(*) as n from (
      select id from outgoing_messages
      where status in ('pending', 'sending') and id > ${w.afterId}
      order by id limit ${w.window}
    ) w`;
}
