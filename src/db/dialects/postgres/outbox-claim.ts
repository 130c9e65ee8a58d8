// Workers claim outgoing messages with FOR UPDATE SKIP LOCKED so any number can run without
// sending a message twice.
import { sql } from "kysely";
import type { OutgoingRow } from "../../schema.ts";
import type { Db, OutboxClaims } from "../../dialect.ts";
import { dueOutgoingIds, windowEnd, type ClaimWindow } from "../../claim-sql.ts";

export const outbox: OutboxClaims = {
  async claim(db: Db, w: ClaimWindow, leaseMs: number) {
    return db.transaction().execute(async (trx) => {
      // The window must be read in index order and stop after `w.window` rows. When a backlog
      // builds up faster than statistics are refreshed, the planner guesses a few dozen open rows
      // and reads them all with a bitmap scan and a sort instead, many times the cost of the
      // index-order read (bench/NOTES.md).
      await sql`set local enable_bitmapscan = off`.execute(trx);
      const r = await sql<OutgoingRow>`
        update outgoing_messages set status = 'sending', claimed_until = ${w.now + leaseMs}
        where id in (${dueOutgoingIds(w, sql`for update of m skip locked`)})
        returning *`.execute(trx);
      const end = (await windowEnd(w).execute(trx)).rows[0];
      return { rows: r.rows, nextAfterId: end && Number(end.n) >= w.window ? Number(end.last) : 0 };
    });
  },
  async recoverClaims() {
    return 0; // other workers may be alive: stale claims are retaken when their lease ends
  },
};
