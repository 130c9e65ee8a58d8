// Feed cursors: where a reader is in the events table, as an opaque string.
//   SQLite (one writer): ids are handed out in commit order, so the cursor is the event id.
//   PostgreSQL: ids come from a sequence and can commit out of order across instances, so events
//   are read in (txid, id) order and only once their transaction is older than every
//   transaction still running (read.ts); the cursor is "<txid>-<id>".
import type { DialectSeam } from "../db/dialect.ts";
import { JoeError } from "../errors.ts";

export interface FeedPosition {
  /** The writing transaction's id (xid8, as text); "0" on SQLite. */
  txid: string;
  id: number;
}

export const START: FeedPosition = { txid: "0", id: 0 };

export function formatCursor(seam: DialectSeam, p: FeedPosition): string {
  return seam.capabilities.idsInCommitOrder ? String(p.id) : `${p.txid}-${p.id}`;
}

/** A cursor this server issued; undefined or "" = the beginning of the feed. Anything else: 400. */
export function parseCursor(seam: DialectSeam, s: string | undefined, field = "after"): FeedPosition {
  if (s === undefined || s === "") return START;
  const m = seam.capabilities.idsInCommitOrder ? /^()(\d{1,15})$/.exec(s) : /^(\d{1,20})-(\d{1,15})$/.exec(s);
  if (!m) throw new JoeError("INVALID_INPUT", `${field}: not a cursor this server issued (pass next_cursor or an SSE id back as it was given)`);
  return { txid: m[1] || "0", id: Number(m[2]) };
}
