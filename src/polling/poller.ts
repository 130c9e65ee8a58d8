// One bot's long-poll loop: getUpdates from the committed offset → the webhook's own write path
// (the group committer: same dedupe marks, same one-transaction write) → offset advanced.
//
// The offset is stored right AFTER the commit of the updates it confirms, not inside the same
// transaction (the committer batches updates of many bots and webhooks together). A crash in
// between makes Telegram hand the same updates out again; their processed_updates marks make
// them no-ops, so nothing is repeated — and nothing is lost, since the offset never runs ahead
// of a commit. (test/integration/polling.test.ts proves both, with kill -9.)
import { GrammyError, HttpError, type Api } from "grammy";
import type { Update } from "grammy/types";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import type { GroupCommitter } from "../webhook/group-commit.ts";
import type { PluginDirectory } from "../plugins/directory.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { parseUpdate } from "../telegram/update.ts";
import { createBotApi } from "../telegram/api.ts";
import { decryptToken, SERVICIO } from "../plugins/store.ts";
import { scrub } from "../log.ts";
import { ALLOWED_UPDATES, deliveryModeOf } from "./mode.ts";
import { advanceOffset, readPollingState, recordPoll, recordPollError } from "./state.ts";
import { reportOutcome, observePollingLag } from "../metrics/registry.ts";

export interface PollerDeps {
  db: Db;
  seam: DialectSeam;
  committer: GroupCommitter;
  plugins: PluginDirectory;
  fernet: MultiFernet;
  apiRoot: string;
  logger: Logger;
  /** getUpdates' `timeout` (seconds): how long Telegram holds an empty poll. */
  timeoutSeconds: number;
  /** How long to leave a bot alone after a 409 (a webhook is set elsewhere) or a revoked token. */
  longBackoffMs: number;
  now?: () => number;
}

/** Exponential back-off for transient errors: 1 s, 2 s … capped at 60 s. */
export function pollBackoffMs(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(0, failures - 1), 60_000);
}

export class BotPoller {
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();
  private failures = 0;
  private finished = false;
  private readonly now: () => number;

  constructor(
    readonly pluginId: number,
    private readonly deps: PollerDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.done = this.loop().finally(() => {
      this.finished = true;
    });
  }

  /** Abort the long poll in flight and wait for the loop to end (a write in progress finishes first). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  /** Stopped, or the loop ended by itself (the bot was deleted or left polling mode). */
  get stopped(): boolean {
    return this.abort.signal.aborted || this.finished;
  }

  private async loop(): Promise<void> {
    const log = this.deps.logger;
    while (!this.stopped) {
      try {
        const more = await this.once();
        if (!more) return;
      } catch (err) {
        if (this.stopped) return;
        await this.onError(err).catch((e) => log.warn({ err: e, plugin_id: this.pluginId }, "polling: cannot record the error"));
      }
    }
  }

  /** One poll. False when this bot is not to be polled any more (deleted, or in webhook mode). */
  private async once(): Promise<boolean> {
    const { db, seam } = this.deps;
    const row = await db.selectFrom("plugin_configs").selectAll().where("id", "=", this.pluginId).executeTakeFirst();
    if (!row || row.servicio !== SERVICIO || deliveryModeOf(row, seam) !== "polling") return false;
    const st = await readPollingState(db, this.pluginId);
    const offset = st?.update_offset ?? 0;
    if (st?.retry_at && st.retry_at > this.now()) {
      // Backing off (maybe decided by another instance): look again in a while, so that
      // `webhook delete` (which clears retry_at) is noticed without waiting the whole back-off.
      await this.sleep(Math.min(st.retry_at - this.now(), 2000));
      return true;
    }
    const api: Api = createBotApi(decryptToken(row, this.deps.fernet), this.deps.apiRoot, this.deps.timeoutSeconds + 15);
    const updates = await api.getUpdates(
      { offset, timeout: this.deps.timeoutSeconds, limit: 100, allowed_updates: [...ALLOWED_UPDATES] },
      // grammY types the signal as the abort-controller polyfill's; Node's is the same at run time.
      this.abort.signal as unknown as Parameters<Api["getUpdates"]>[1],
    );
    this.failures = 0;
    if (updates.length === 0) {
      await recordPoll(db, this.pluginId, this.now());
      return true;
    }
    await this.ingest(updates);
    return true;
  }

  /** Write the updates through the webhook's committer, then store the offset past them. */
  private async ingest(updates: Update[]): Promise<void> {
    const { db, committer, plugins, logger } = this.deps;
    const gate = await plugins.lookup(this.pluginId);
    const unparsed: Array<{ raw: string; error: string }> = [];
    const writes: Array<Promise<void>> = [];
    for (const u of updates) {
      const parsed = parseUpdate(u);
      if (!parsed.ok) {
        unparsed.push({ raw: JSON.stringify(u), error: parsed.error });
        continue;
      }
      // Submitted together so they are written in one group commit, in update_id order.
      writes.push(
        committer.submit(this.pluginId, parsed.update, gate?.state).then((r) => {
          reportOutcome(logger, "polling", this.pluginId, parsed.update.updateId, r.outcome, r.taskCodigo);
          const date = (u.message as { date?: number } | undefined)?.date;
          if (typeof date === "number") observePollingLag((this.now() - date * 1000) / 1000);
        }),
      );
    }
    // Any failure throws before the offset moves: Telegram hands the batch out again, and what
    // was committed of it is recognised by its processed_updates marks.
    await Promise.all(writes);
    const next = Math.max(...updates.map((u) => u.update_id)) + 1;
    const now = this.now();
    if (unparsed.length === 0) {
      await advanceOffset(db, this.pluginId, next, now);
      return;
    }
    // Not understood: kept for inspection in the same transaction as the offset that skips them.
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("unparsed_updates")
        .values(unparsed.map((x) => ({ plugin_id: this.pluginId, body: x.raw, error: x.error, received_at: now })))
        .execute();
      await advanceOffset(trx, this.pluginId, next, now);
    });
    for (const x of unparsed) logger.warn({ plugin_id: this.pluginId, reason: x.error }, "polling: update not understood, kept for inspection");
  }

  private async onError(err: unknown): Promise<void> {
    const { db, logger, longBackoffMs } = this.deps;
    let delay: number;
    let reason: string;
    if (err instanceof GrammyError) {
      reason = scrub(`${err.error_code} ${err.description}`);
      if (err.error_code === 409) {
        delay = longBackoffMs;
        logger.warn(
          { plugin_id: this.pluginId, error: reason, retry_in_s: Math.round(delay / 1000) },
          "polling: Telegram refuses getUpdates (a webhook is set, or another program polls this bot); run `webhook delete` to poll here, or `webhook set` to use the webhook",
        );
      } else if (err.error_code === 401 || err.error_code === 404) {
        delay = longBackoffMs;
        logger.warn({ plugin_id: this.pluginId, error: reason }, "polling: the bot token was refused; re-enter it with `plugin set-token`");
      } else if (err.error_code === 429) {
        delay = Math.max(1, Number(err.parameters?.retry_after ?? 1)) * 1000;
      } else {
        delay = pollBackoffMs(++this.failures);
        logger.warn({ plugin_id: this.pluginId, error: reason, retry_in_ms: delay }, "polling: getUpdates failed");
      }
    } else if (err instanceof HttpError) {
      reason = "network: cannot reach the Bot API";
      delay = pollBackoffMs(++this.failures);
      logger.warn({ plugin_id: this.pluginId, retry_in_ms: delay }, "polling: cannot reach the Bot API");
    } else {
      reason = scrub(`error: ${(err as Error)?.message ?? String(err)}`);
      delay = (err as { code?: string })?.code === "KEY_MISMATCH" ? longBackoffMs : pollBackoffMs(++this.failures);
      logger.warn({ plugin_id: this.pluginId, err, retry_in_ms: delay }, "polling: error, will retry");
    }
    const now = this.now();
    try {
      await recordPollError(db, this.pluginId, reason, now, now + delay);
    } finally {
      await this.sleep(Math.min(delay, 2000));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done);
    });
  }
}
