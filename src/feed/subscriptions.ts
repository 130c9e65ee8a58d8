// Outgoing webhooks: a subscription is a URL, the event types it wants, its signing secret
// (Fernet-encrypted: it must be read back to sign) and a cursor into the events table — the
// durable queue is the feed itself, so a subscription costs one row however many events wait.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Selectable } from "kysely";
import type { SubscriptionsTable } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { JoeError } from "../errors.ts";
import { checkTypes } from "./query.ts";
import { headPosition } from "./read.ts";
import { formatCursor } from "./cursor.ts";
import { newSubscriptionSecret } from "./signature.ts";

export type SubscriptionRow = Selectable<SubscriptionsTable>;

export interface PublicSubscription {
  id: number;
  url: string;
  events: string[];
  created_at: string;
  /** Events delivered (2xx). */
  delivered: number;
  /** Failed attempts at the event now being delivered (0 when healthy). */
  attempts: number;
  /** Since when (epoch ms) the current event has been failing; null when healthy. */
  failing_since: number | null;
  last_error: string | null;
  next_attempt_at: number;
  /** Events given up after failing for the whole retry period (24 h). */
  given_up: number;
  last_given_up_event_id: number | null;
}

export function subscriptionTypes(row: SubscriptionRow, seam: DialectSeam): string[] {
  return seam.json.parse(row.events) as string[];
}

export function toPublicSubscription(row: SubscriptionRow, seam: DialectSeam): PublicSubscription {
  return {
    id: Number(row.id),
    url: row.url,
    events: subscriptionTypes(row, seam),
    created_at: row.created_at,
    delivered: Number(row.delivered),
    attempts: Number(row.attempts),
    failing_since: row.failing_since === null ? null : Number(row.failing_since),
    last_error: row.last_error,
    next_attempt_at: Number(row.next_attempt_at),
    given_up: Number(row.given_up),
    last_given_up_event_id: row.last_given_up_event_id === null ? null : Number(row.last_given_up_event_id),
  };
}

const MAX_URL = 2048;

/** An absolute http(s) URL without credentials; anything else is a 400 saying so. */
export function checkUrl(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_URL)
    throw new JoeError("INVALID_INPUT", `url: an absolute http(s) URL of at most ${MAX_URL} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new JoeError("INVALID_INPUT", "url: not a valid absolute URL (e.g. https://example.com/joe-events)");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new JoeError("INVALID_INPUT", "url: must start with http:// or https://");
  if (u.username || u.password) throw new JoeError("INVALID_INPUT", "url: must not carry credentials (verify X-Joe-Signature instead)");
  return u.toString();
}

export async function createSubscription(
  db: Db,
  seam: DialectSeam,
  fernet: MultiFernet,
  usuarioId: number,
  input: { url: unknown; events: unknown },
): Promise<{ subscription: PublicSubscription; secret: string }> {
  const url = checkUrl(input.url);
  if (!Array.isArray(input.events) || input.events.length === 0 || input.events.some((t) => typeof t !== "string")) {
    throw new JoeError("INVALID_INPUT", "events: a non-empty array of event types");
  }
  const events = checkTypes(input.events as string[], "events");
  const secret = newSubscriptionSecret();
  // Events from now on: the cursor starts at the feed's head.
  const cursor = formatCursor(seam, await headPosition(db, seam));
  const row = await db
    .insertInto("subscriptions")
    .values({
      usuario_id: usuarioId,
      url,
      events: JSON.stringify(events),
      secret_cifrado: fernet.encrypt(secret),
      cursor,
      next_attempt_at: 0,
      leased_until: null,
      lease_token: null,
      failing_since: null,
      last_error: null,
      last_given_up_event_id: null,
      created_at: new Date().toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { subscription: toPublicSubscription(row, seam), secret };
}

export async function listSubscriptions(db: Db, seam: DialectSeam, usuarioId: number): Promise<PublicSubscription[]> {
  const rows = await db.selectFrom("subscriptions").selectAll().where("usuario_id", "=", usuarioId).orderBy("id").execute();
  return rows.map((r) => toPublicSubscription(r, seam));
}

/** Another user's subscription is not found, exactly like a missing one. */
export async function deleteSubscription(db: Db, usuarioId: number, id: number): Promise<void> {
  const r = await db.deleteFrom("subscriptions").where("id", "=", id).where("usuario_id", "=", usuarioId).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) throw new JoeError("SUBSCRIPTION_NOT_FOUND", String(id));
}
