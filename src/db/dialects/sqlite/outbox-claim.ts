// One writer: the candidate query needs no lock clause; the claim's IMMEDIATE transaction keeps
// every other claimer out until it commits.
import { sql } from "kysely";
import type { OutgoingRow } from "../../schema.ts";
import type { Db, OutboxClaims } from "../../dialect.ts";
import { dueOutgoingIds, windowEnd, type ClaimWindow } from "../../claim-sql.ts";

export const outbox: OutboxClaims = {
  async claim(db: Db, w: ClaimWindow, leaseMs: number) {
    return db.transaction().execute(async (trx) => {
      const ids = (await dueOutgoingIds(w, sql``).execute(trx)).rows.map((r) => r.id);
      const end = (await windowEnd(w).execute(trx)).rows[0];
      const nextAfterId = end && Number(end.n) >= w.window ? Number(end.last) : 0;
      if (ids.length === 0) return { rows: [] as OutgoingRow[], nextAfterId };
      const rows = await trx
        .updateTable("outgoing_messages")
        .set({ status: "sending", claimed_until: w.now + leaseMs })
        .where("id", "in", ids)
        .returningAll()
        .execute();
      return { rows, nextAfterId };
    });
  },
  async recoverClaims(db: Db) {
    const r = await db.updateTable("outgoing_messages").set({ status: "pending", claimed_until: null }).where("status", "=", "sending").executeTakeFirst();
    return Number(r.numUpdatedRows);
  },
};
