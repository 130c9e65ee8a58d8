// The subscription worker: for each subscription with events after its cursor, POST them to its
// URL one by one, in order, signed, and advance the cursor in the database after each 2xx. A
// failure backs the subscription off exponentially (its events wait in the events table, which
// survives restarts) until a 2xx — or, after 24 h of failing, the event is given up (counted and
// shown by GET /subscriptions) and the next one is tried.
//
// Each subscription runs on its own: a slow or dead subscriber (timeout ~10 s) holds only its own
// slot. A subscription is worked on by one worker at a time, across processes: a lease on its row
// (claimed with FOR UPDATE SKIP LOCKED on PostgreSQL), renewed as it goes; the cursor only moves
// while the lease is still ours. A crash between a 2xx and the cursor update delivers that event
// again, with the same X-Joe-Delivery: receivers dedupe on it.
import { randomUUID } from "node:crypto";
import { type ExpressionBuilder, sql } from "kysely";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Database } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import type { Logger } from "../log.ts";
import { parseCursor } from "./cursor.ts";
import { readEvents } from "./read.ts";
import { FALLBACK_POLL_MS, type FeedNotifier } from "./notifier.ts";
import { subscriptionTypes, type SubscriptionRow } from "./subscriptions.ts";
import { signBody } from "./signature.ts";

export interface DelivererOptions {
  db: Db;
  seam: DialectSeam;
  fernet: MultiFernet;
  feed: FeedNotifier;
  logger: Logger;
  /** Subscriptions delivered to at once by this process. */
  concurrency?: number;
  timeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  giveUpMs?: number;
  now?: () => number;
}

/** Tunables from the environment (tests shorten the backoff). */
export function delivererEnv(env: NodeJS.ProcessEnv = process.env): Partial<DelivererOptions> {
  const n = (k: string) => (env[k] !== undefined && env[k] !== "" ? Number(env[k]) : undefined);
  return {
    retryBaseMs: n("JOE_SUBSCRIPTION_RETRY_BASE_MS"),
    retryMaxMs: n("JOE_SUBSCRIPTION_RETRY_MAX_MS"),
    giveUpMs: n("JOE_SUBSCRIPTION_GIVE_UP_MS"),
    timeoutMs: n("JOE_SUBSCRIPTION_TIMEOUT_MS"),
  };
}

const BATCH = 50;

export class SubscriptionDeliverer {
  private running = false;
  private loop?: Promise<void>;
  private readonly active = new Map<number, Promise<void>>();
  private readonly stopping = new AbortController();
  /** Ends the loop's wait early (a subscription finished its round). */
  private kick?: () => void;
  private readonly o: Required<Omit<DelivererOptions, "now">> & { now: () => number };

  constructor(opts: DelivererOptions) {
    const def = <T>(v: T | undefined, d: T) => (v === undefined || Number.isNaN(v) ? d : v);
    this.o = {
      ...opts,
      concurrency: def(opts.concurrency, 32),
      timeoutMs: def(opts.timeoutMs, 10_000),
      retryBaseMs: def(opts.retryBaseMs, 1_000),
      retryMaxMs: def(opts.retryMaxMs, 10 * 60_000),
      giveUpMs: def(opts.giveUpMs, 24 * 3600_000),
      now: opts.now ?? Date.now,
    };
  }

  /** A lease outlives one delivery attempt with room to spare; it is renewed after each event. */
  private get leaseMs(): number {
    return this.o.timeoutMs * 3;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
    await Promise.allSettled([...this.active.values()]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const free = this.o.concurrency - this.active.size;
        if (free > 0) {
          for (const sub of await this.claim(free)) {
            const id = Number(sub.id);
            this.active.set(
              id,
              this.work(sub)
                .catch((err) => {
                  this.o.logger.warn({ subscription_id: id, err: (err as Error).message }, "subscriptions: delivery round failed");
                })
                .finally(() => {
                  this.active.delete(id);
                  this.kick?.(); // a slot is free: look again
                }),
            );
          }
        }
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, "subscriptions: claim failed; retrying");
      }
      if (!this.running) break;
      const kicked = new AbortController();
      this.kick = () => kicked.abort();
      await this.o.feed.next(FALLBACK_POLL_MS, AbortSignal.any([this.stopping.signal, kicked.signal]));
    }
  }

  /** Subscriptions due, not leased by anyone, with events waiting: leased to this process. */
  private async claim(max: number): Promise<SubscriptionRow[]> {
    const { db, seam } = this.o;
    const now = this.o.now();
    const due = await db
      .selectFrom("subscriptions")
      .selectAll()
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("leased_until", "is", null), eb("leased_until", "<", now)]))
      .orderBy("next_attempt_at")
      .limit(200)
      .execute();
    const out: SubscriptionRow[] = [];
    for (const sub of due) {
      if (out.length >= max) break;
      if (this.active.has(Number(sub.id))) continue;
      // Reading is cheap; a lease is a write (an fsync on SQLite): only lease what has work.
      const waiting = await readEvents(db, seam, {
        usuarioId: Number(sub.usuario_id),
        after: parseCursor(seam, sub.cursor),
        types: subscriptionTypes(sub, seam),
        limit: 1,
      });
      if (waiting.length === 0) continue;
      const token = randomUUID();
      const free = (eb: ExpressionBuilder<Database, "subscriptions">) => eb.or([eb("leased_until", "is", null), eb("leased_until", "<", now)]);
      let q = db.updateTable("subscriptions").set({ leased_until: now + this.leaseMs, lease_token: token });
      if (seam.capabilities.skipLocked) {
        // Another worker holding the row: skip it rather than wait for it.
        q = q.where("id", "=", (eb) => eb.selectFrom("subscriptions").select("id").where("id", "=", sub.id).where(free).modifyEnd(sql`for update skip locked`));
      } else {
        q = q.where("id", "=", sub.id);
      }
      const row = await q.where(free).returningAll().executeTakeFirst();
      if (row) out.push(row);
    }
    return out;
  }

  private backoff(attempts: number): number {
    return Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(attempts - 1, 30));
  }

  /** Deliver this subscription's waiting events in order until none is left, one fails, or the lease is lost. */
  private async work(sub: SubscriptionRow): Promise<void> {
    const { db, seam } = this.o;
    const id = Number(sub.id);
    const token = sub.lease_token!;
    let secret: string;
    try {
      secret = this.o.fernet.decrypt(sub.secret_cifrado);
    } catch {
      this.o.logger.error({ subscription_id: id }, "subscriptions: secret cannot be decrypted with FERNET_KEYS; not delivering");
      await this.release(id, token, { next_attempt_at: this.o.now() + this.o.retryMaxMs, last_error: "secret cannot be decrypted with FERNET_KEYS" });
      return;
    }
    const types = subscriptionTypes(sub, seam);
    let failingSince = sub.failing_since === null ? null : Number(sub.failing_since);
    let attempts = Number(sub.attempts);
    let cursor = sub.cursor;
    while (this.running) {
      const items = await readEvents(db, seam, { usuarioId: Number(sub.usuario_id), after: parseCursor(seam, cursor), types, limit: BATCH });
      if (items.length === 0) break;
      for (const it of items) {
        if (!this.running) break;
        const body = JSON.stringify(it.item);
        const error = await this.post(sub.url, it.item.type, it.item.id, body, secret);
        // Shutting down aborted the attempt: not the subscriber's failure (the event stays next).
        if (error !== null && !this.running) break;
        const now = this.o.now();
        if (error === null) {
          const ok = await this.advance(id, token, now, { cursor: it.cursor, delivered: true });
          if (!ok) return; // deleted, or the lease went to someone else
          cursor = it.cursor;
          failingSince = null;
          attempts = 0;
          continue;
        }
        failingSince ??= now;
        attempts++;
        if (now - failingSince >= this.o.giveUpMs) {
          this.o.logger.warn({ subscription_id: id, event_id: it.item.id, attempts }, "subscriptions: event given up after failing for the whole retry period");
          const ok = await this.advance(id, token, now, { cursor: it.cursor, givenUp: it.item.id, error });
          if (!ok) return;
          cursor = it.cursor;
          failingSince = null;
          attempts = 0;
          continue;
        }
        await this.release(id, token, { attempts, failing_since: failingSince, last_error: error, next_attempt_at: now + this.backoff(attempts) });
        return;
      }
    }
    await this.release(id, token, {});
  }

  /** Move the cursor past one event (delivered or given up), renewing the lease; false if the lease is not ours any more. */
  private async advance(
    id: number,
    token: string,
    now: number,
    a: { cursor: string; delivered?: boolean; givenUp?: number; error?: string },
  ): Promise<boolean> {
    const r = await this.o.db
      .updateTable("subscriptions")
      .set((eb) => ({
        cursor: a.cursor,
        attempts: 0,
        failing_since: null,
        leased_until: now + this.leaseMs,
        ...(a.delivered ? { delivered: eb("delivered", "+", 1), last_error: null } : {}),
        ...(a.givenUp !== undefined ? { given_up: eb("given_up", "+", 1), last_given_up_event_id: a.givenUp, last_error: a.error ?? null } : {}),
      }))
      .where("id", "=", id)
      .where("lease_token", "=", token)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  private async release(
    id: number,
    token: string,
    set: { attempts?: number; failing_since?: number | null; last_error?: string | null; next_attempt_at?: number },
  ): Promise<void> {
    await this.o.db
      .updateTable("subscriptions")
      .set({ ...set, leased_until: null, lease_token: null })
      .where("id", "=", id)
      .where("lease_token", "=", token)
      .execute();
  }

  /** One attempt; null on a 2xx, else what went wrong (never the secret). */
  private async post(url: string, type: string, eventId: number, body: string, secret: string): Promise<string | null> {
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "joe-telegram-webhooks",
          "x-joe-event": type,
          "x-joe-delivery": String(eventId),
          "x-joe-signature": signBody(secret, body),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.any([AbortSignal.timeout(this.o.timeoutMs), this.stopping.signal]),
      });
      await res.body?.cancel().catch(() => {});
      return res.status >= 200 && res.status < 300 ? null : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === "TimeoutError") return `no answer within ${this.o.timeoutMs} ms`;
      return e.cause?.code ?? e.name ?? "request failed";
    }
  }
}
