// The candidate query shared by both dialects' claimOutgoing: due, not paced, and the oldest
// unsent message of its chat. Only the locking around it differs per dialect.
import { sql, type RawBuilder } from "kysely";

export function dueOutgoingIds(now: number, limit: number, lockClause: RawBuilder<unknown>): RawBuilder<{ id: number }> {
  return sql<{ id: number }>`
    select m.id from outgoing_messages m
    where (m.status = 'pending' and m.next_attempt_at <= ${now}
           or m.status = 'sending' and m.claimed_until < ${now})
      and not exists (
        select 1 from outgoing_messages p
        where p.plugin_id = m.plugin_id and p.chat_id = m.chat_id and p.id < m.id
          and p.status in ('pending', 'sending'))
      and not exists (
        select 1 from chat_state c
        where c.plugin_id = m.plugin_id and c.chat_id = m.chat_id and c.next_send_at > ${now})
    order by m.id
    limit ${limit}
    ${lockClause}`;
}
