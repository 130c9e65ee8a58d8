// The outgoing-message worker: reads due messages from the database (the webhook only writes
// them), sends them through the Bot API, and records the outcome. Per chat, one message is in
// flight at a time, oldest first, paced to Telegram's limits; failures are retried with backoff
// or end as failed. Nothing here ever delays a webhook answer.
import type { Api } from "grammy";
import type { Db, DialectSeam, Tx } from "../db/dialect.ts";
import type { OutgoingRow } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import type { Logger } from "../log.ts";
import { BotLimiter } from "./bot-limiter.ts";
import { PACE, GIVE_UP_AFTER_MS, SEND_TIMEOUT_MS, chatPaceMs, classifySendError } from "./policy.ts";
import { createSendApi } from "./send-fetch.ts";
import { countSend } from "../metrics/registry.ts";
import { deliverOutgoing } from "./deliver.ts";

/** How many open messages one claim looks at (see db/claim-sql.ts). */
const CLAIM_WINDOW = 512;
/** Time kept on a claim after a send's timeout, to record its outcome before the claim ends. */
const RECORD_MARGIN_MS = 20_000;

export interface SenderOptions {
  db: Db;
  seam: DialectSeam;
  fernet: MultiFernet;
  apiRoot: string;
  logger: Logger;
  /** Sends in flight at once, across all bots and chats. */
  concurrency?: number;
  /** How often to look for work written by other processes. */
  pollMs?: number;
  /** How long a sent request waits for Telegram's answer (policy.ts SEND_TIMEOUT_MS). */
  sendTimeoutMs?: number;
  /**
   * A claim lasts this long; a crashed worker's claims are retaken after it (PostgreSQL; SQLite
   * releases them when its single worker starts). It must outlast the send timeout plus recording
   * the outcome, or a slow send could be claimed and sent twice: a send starts only while at least
   * the send timeout and a margin remain (deliver). Default: send timeout + 60 s.
   */
  leaseMs?: number;
  now?: () => number;
}

type FinishSet = { status: string; sent_at?: number; telegram_message_id?: number; last_error?: string; attempts?: number; next_attempt_at?: number };
interface PendingOutcome {
  m: OutgoingRow;
  set: FinishSet;
  chatWaitMs?: number;
  /** Retries of this record stop here: well before the claim ends (set when the outcome is known). */
  deadline: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class OutboxSender {
  readonly stats = { sent: 0, failed: 0, retried: 0, rateLimited: 0, unknown: 0 };
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private inflight = new Set<Promise<void>>();
  private wakeUp: (() => void) | null = null;
  /** Outcomes waiting to be written together (see finish). */
  private finishing: PendingOutcome[] = [];
  private woken = false;
  private apis = new Map<number, { api: Api; at: number }>();
  private limiter: BotLimiter;
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly sendTimeoutMs: number;
  /** Ends the sends still in flight when a stop's grace runs out (see stop). */
  private aborter = new AbortController();

  constructor(private readonly o: SenderOptions) {
    this.now = o.now ?? Date.now;
    this.concurrency = o.concurrency ?? 64;
    this.pollMs = o.pollMs ?? 200;
    this.sendTimeoutMs = o.sendTimeoutMs ?? SEND_TIMEOUT_MS;
    this.leaseMs = o.leaseMs ?? this.sendTimeoutMs + 60_000;
    this.limiter = new BotLimiter(PACE.perBotPerSecond, this.now);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.aborter = new AbortController();
    this.loopDone = this.loop();
  }

  /** New messages were written: look now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Graceful stop: claims nothing more, lets the sends in flight finish and record their outcome.
   * With a hanging Bot API a send could take the whole send timeout (60 s): after `graceMs` the
   * sends still waiting are ended, and recorded as what they are — not sent yet (queued again) or
   * sent without an answer ('unknown', never resent) — so stopping stays bounded and nothing is
   * left half-done.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    const timer = setTimeout(() => this.aborter.abort(), graceMs);
    try {
      await Promise.allSettled([...this.inflight]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async loop(): Promise<void> {
    try {
      const released = await this.o.seam.outbox.recoverClaims(this.o.db);
      if (released > 0) this.o.logger.info({ released }, "outbox: re-queued messages claimed before a restart");
    } catch (err) {
      this.o.logger.error({ err }, "outbox: could not release old claims");
    }
    let busy = false;
    let afterId = 0;
    let lastEmptyClaimAt = 0;
    let emptyStreak = 0;
    while (this.running) {
      this.woken = false;
      // Under load the webhook wakes us after every commit. When claims keep finding nothing (every
      // waiting chat is paced), look less often — 10 ms, doubling to 200 ms — so claiming never
      // crowds out the webhook's own writes. The first look after a quiet spell is immediate.
      const gap = Math.min(200, 10 * 2 ** Math.max(0, emptyStreak - 1));
      const sinceEmpty = this.now() - lastEmptyClaimAt;
      if (emptyStreak > 0 && sinceEmpty < gap) await this.sleep(gap - sinceEmpty, false);
      const free = this.concurrency - this.inflight.size;
      let claimed: OutgoingRow[] = [];
      if (free > 0) {
        try {
          const now = this.now();
          // The window at the head (oldest open messages: where most chats' next message is),
          // then a rotating window further on, so a long backlog in one chat starves nobody.
          const head = await this.o.seam.outbox.claim(this.o.db, { now, limit: free, afterId: 0, window: CLAIM_WINDOW }, this.leaseMs);
          claimed = head.rows;
          if (head.nextAfterId > 0) {
            const from = Math.max(afterId, head.nextAfterId);
            const more =
              claimed.length < free
                ? await this.o.seam.outbox.claim(this.o.db, { now, limit: free - claimed.length, afterId: from, window: CLAIM_WINDOW }, this.leaseMs)
                : { rows: [], nextAfterId: from };
            claimed = claimed.concat(more.rows);
            afterId = more.nextAfterId;
          } else {
            afterId = 0;
          }
        } catch (err) {
          if (this.o.seam.errors.isUniqueViolation(err)) {
            // Another worker claimed a message of the same chat at the same moment: try again.
            lastEmptyClaimAt = this.now();
            emptyStreak = 1;
            continue;
          }
          this.o.logger.warn({ err }, "outbox: database unavailable, retrying");
          await this.sleep(1000);
          continue;
        }
      }
      for (const m of claimed) this.launch(m);
      if (claimed.length > 0) {
        busy = true;
        emptyStreak = 0;
      } else {
        lastEmptyClaimAt = this.now();
        emptyStreak = sinceEmpty > 1000 ? 1 : emptyStreak + 1;
        if (this.inflight.size === 0) busy = false;
      }
      // While messages are moving, look again soon (a paced chat frees up within a second).
      if (!this.woken) await this.sleep(claimed.length > 0 && free > claimed.length ? 0 : busy ? 25 : this.pollMs);
    }
  }

  private sleep(ms: number, wakeable = true): Promise<void> {
    if (ms <= 0) return new Promise((r) => setImmediate(r));
    if (!wakeable) return new Promise((r) => setTimeout(r, ms));
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }

  private launch(m: OutgoingRow): void {
    const p = this.deliver(m).catch((err) => this.o.logger.error({ err, message_id: m.id }, "outbox: unexpected error"));
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.wake();
    });
  }

  private async deliver(m: OutgoingRow): Promise<void> {
    const pluginId = Number(m.plugin_id);
    // Per-bot pacing: wait here (holding the claim) until the bot may send again.
    let slot = this.limiter.tryAcquire(pluginId);
    while (typeof slot === "number") {
      if (!this.running || !this.claimOutlastsSend(m)) return this.release(m);
      await new Promise((r) => setTimeout(r, slot as number));
      slot = this.limiter.tryAcquire(pluginId);
    }
    try {
      await this.send(m, pluginId);
    } finally {
      this.limiter.release(slot);
    }
  }

  /** Whether the claim still covers a whole send (its timeout) and recording its outcome. */
  private claimOutlastsSend(m: OutgoingRow): boolean {
    return m.claimed_until === null || this.now() + this.sendTimeoutMs + RECORD_MARGIN_MS <= Number(m.claimed_until);
  }

  private async send(m: OutgoingRow, pluginId: number): Promise<void> {
    if (!this.running || !this.claimOutlastsSend(m)) return this.release(m);

    const api = await this.apiFor(pluginId);
    if (api === "missing") return this.finish(m, { status: "failed", last_error: "plugin deleted" });
    // A key problem is an operator's to fix (FERNET_KEYS): keep the message and try again later.
    if (api === "undecryptable")
      return this.finish(m, { status: "pending", last_error: "token cannot be decrypted with FERNET_KEYS", next_attempt_at: this.now() + 60_000 });
    const attempt = Number(m.attempts) + 1;
    let sent: { message_id: number };
    try {
      sent = await deliverOutgoing(api, this.o.db, m, this.aborter.signal);
    } catch (err) {
      const f = classifySendError(err, attempt);
      countSend(f.reason);
      const tooOld = this.now() - Number(m.created_at) > GIVE_UP_AFTER_MS;
      if (f.type === "unknown") {
        // Telegram may have delivered it: sending again could show the chat a duplicate. The
        // message ends as 'unknown' (messages list), never resent automatically.
        this.stats.unknown++;
        this.o.logger.warn({ message_id: m.id, plugin_id: pluginId, reason: f.reason }, "outbox: outcome unknown, message not resent");
        return this.finish(m, { status: "unknown", last_error: f.reason, attempts: attempt }, chatPaceMs(Number(m.chat_id)));
      }
      if (f.type === "permanent" || tooOld) {
        this.stats.failed++;
        this.o.logger.warn({ message_id: m.id, plugin_id: pluginId, reason: f.reason }, "outbox: message failed for good");
        return this.finish(m, { status: "failed", last_error: f.reason, attempts: attempt });
      }
      if (f.type === "rate_limited") this.stats.rateLimited++;
      else this.stats.retried++;
      this.o.logger.info({ message_id: m.id, plugin_id: pluginId, reason: f.reason, retry_in_ms: f.delayMs }, "outbox: send will be retried");
      await this.finish(
        m,
        { status: "pending", last_error: f.reason, attempts: attempt, next_attempt_at: this.now() + f.delayMs },
        f.type === "rate_limited" ? f.delayMs : undefined,
      );
      return;
    }
    // Telegram has the message. Recording that is outside the send's error handling: a database
    // error here must not be taken for a failed send and put the message back in the queue.
    this.stats.sent++;
    countSend("ok");
    await this.finish(m, { status: "sent", sent_at: this.now(), telegram_message_id: sent.message_id, attempts: attempt }, chatPaceMs(Number(m.chat_id)));
  }

  private release(m: OutgoingRow): Promise<void> {
    return this.finish(m, { status: "pending" });
  }

  /**
   * Record the outcome of one message, and how long its chat must now wait. Where the dialect
   * asks for it (SQLite), outcomes that come in together are written in one transaction — one
   * fsync instead of one per message; if that transaction fails, each is written on its own.
   */
  private finish(m: OutgoingRow, set: FinishSet, chatWaitMs?: number): Promise<void> {
    // Retrying the record of a send must end well before the claim does, or another worker
    // could retake the message and send it again. And only while the claim is still ours.
    const deadline = this.now() + this.leaseMs / 2;
    if (!this.o.seam.capabilities.groupOutcomes) return this.finishOne({ m, set, chatWaitMs, deadline, resolve: () => {}, reject: () => {} });
    return new Promise((resolve, reject) => {
      this.finishing.push({ m, set, chatWaitMs, deadline, resolve, reject });
      if (this.finishing.length === 1) setImmediate(() => void this.flushFinished());
    });
  }

  private async flushFinished(): Promise<void> {
    const batch = this.finishing;
    this.finishing = [];
    if (batch.length > 1) {
      try {
        await this.o.db.transaction().execute(async (trx) => {
          for (const f of batch) await this.writeOutcome(trx, f);
        });
        for (const f of batch) f.resolve();
        return;
      } catch {
        // Written one by one below: one bad outcome must not hold up the others.
      }
    }
    await Promise.all(batch.map((f) => this.finishOne(f).then(f.resolve, f.reject)));
  }

  private async finishOne(f: PendingOutcome): Promise<void> {
    const { deadline } = f;
    for (let tries = 0; ; tries++) {
      try {
        await this.o.db.transaction().execute((trx) => this.writeOutcome(trx, f));
        return;
      } catch (err) {
        if (!this.o.seam.errors.isUnavailable(err) || this.now() + 250 * (tries + 1) > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250 * (tries + 1)));
      }
    }
  }

  private async writeOutcome(trx: Tx, { m, set, chatWaitMs }: PendingOutcome): Promise<void> {
    let q = trx
      .updateTable("outgoing_messages")
      .set({ ...set, claimed_until: null })
      .where("id", "=", m.id);
    if (m.claimed_until !== null) q = q.where("claimed_until", "=", m.claimed_until);
    await q.execute();
    if (chatWaitMs !== undefined) {
      const next_send_at = this.now() + chatWaitMs;
      await trx
        .insertInto("chat_state")
        .values({ plugin_id: m.plugin_id, chat_id: m.chat_id, next_send_at })
        .onConflict((oc) => oc.columns(["plugin_id", "chat_id"]).doUpdateSet({ next_send_at }))
        .execute();
    }
  }

  private async apiFor(pluginId: number): Promise<Api | "missing" | "undecryptable"> {
    const cached = this.apis.get(pluginId);
    if (cached && this.now() - cached.at < 60_000) return cached.api;
    const row = await this.o.db.selectFrom("plugin_configs").select(["token_cifrado"]).where("id", "=", pluginId).executeTakeFirst();
    if (!row) return "missing";
    try {
      const api = createSendApi(this.o.fernet.decrypt(row.token_cifrado), this.o.apiRoot, this.sendTimeoutMs);
      this.apis.set(pluginId, { api, at: this.now() });
      return api;
    } catch {
      this.o.logger.error({ plugin_id: pluginId }, "outbox: the bot token cannot be decrypted with FERNET_KEYS");
      return "undecryptable";
    }
  }
}
