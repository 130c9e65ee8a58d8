// The polling_state row of a bot: its committed getUpdates offset, the lease that makes one
// instance alone poll it, and what the last poll saw. Every write here is one statement.
import type { Db } from "../db/dialect.ts";

export interface PollingStatus {
  update_offset: number;
  lease_owner: string | null;
  lease_until: number;
  last_poll_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  retry_at: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function readPollingState(db: Db, pluginId: number): Promise<PollingStatus | null> {
  const r = await db.selectFrom("polling_state").selectAll().where("plugin_id", "=", pluginId).executeTakeFirst();
  if (!r) return null;
  return {
    update_offset: Number(r.update_offset),
    lease_owner: r.lease_owner,
    lease_until: Number(r.lease_until),
    last_poll_at: num(r.last_poll_at),
    last_error: r.last_error,
    last_error_at: num(r.last_error_at),
    retry_at: num(r.retry_at),
  };
}

/**
 * Take or renew the lease: succeeds when nobody holds it, we hold it, or the holder let it run
 * out (an instance that died). One conditional UPDATE, so two instances cannot both win.
 */
export async function tryLease(db: Db, pluginId: number, owner: string, now: number, ttlMs: number): Promise<boolean> {
  await db
    .insertInto("polling_state")
    .values({ plugin_id: pluginId, lease_owner: null })
    .onConflict((oc) => oc.column("plugin_id").doNothing())
    .execute();
  const r = await db
    .updateTable("polling_state")
    .set({ lease_owner: owner, lease_until: now + ttlMs })
    .where("plugin_id", "=", pluginId)
    .where((eb) => eb.or([eb("lease_owner", "is", null), eb("lease_owner", "=", owner), eb("lease_until", "<", now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function releaseLease(db: Db, pluginId: number, owner: string): Promise<void> {
  await db.updateTable("polling_state").set({ lease_owner: null, lease_until: 0 }).where("plugin_id", "=", pluginId).where("lease_owner", "=", owner).execute();
}

/** The offset only moves forward, whoever writes it. */
export async function advanceOffset(db: Db, pluginId: number, offset: number, now: number): Promise<void> {
  await db
    .updateTable("polling_state")
    .set({ update_offset: offset, last_poll_at: now, last_error: null, last_error_at: null, retry_at: null })
    .where("plugin_id", "=", pluginId)
    .where("update_offset", "<", offset)
    .execute();
}

export async function recordPoll(db: Db, pluginId: number, now: number): Promise<void> {
  await db
    .updateTable("polling_state")
    .set({ last_poll_at: now, last_error: null, last_error_at: null, retry_at: null })
    .where("plugin_id", "=", pluginId)
    .execute();
}

export async function recordPollError(db: Db, pluginId: number, error: string, now: number, retryAt: number): Promise<void> {
  await db.updateTable("polling_state").set({ last_error: error, last_error_at: now, retry_at: retryAt }).where("plugin_id", "=", pluginId).execute();
}
