// Waking the feed's readers (long-polls, SSE streams, the subscription deliverer) when events may
// have been committed. A wake-up only: readers always read the table, and poll it slowly anyway,
// so a lost wake-up costs latency, never an event.
//   In-process: whoever commits events calls notify() after the commit.
//   Across instances (PostgreSQL): notify() also publishes on LISTEN/NOTIFY (pg-listen.ts), and a
//   notification received from another instance wakes this one's readers.
export class FeedNotifier {
  private waiters = new Set<() => void>();
  /** Bumped by every notify(): a reader compares it before and after a read to catch a wake it missed. */
  seq = 0;
  /** Set by the PostgreSQL listener: tells the other instances. */
  publish?: () => void;

  notify(opts: { remote?: boolean } = {}): void {
    this.seq++;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
    if (!opts.remote) this.publish?.();
  }

  /** Resolves at the next notify(), after `ms`, or when `signal` aborts, whichever comes first. */
  next(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** Slow poll when no wake-up comes (a missed notification, a write from the CLI). */
export const FALLBACK_POLL_MS = 1000;

/**
 * Reads until something is there, `waitMs` passed, or `signal` aborted. After a wake-up that found
 * nothing (on PostgreSQL the event may not be final yet: another transaction is still running),
 * look again soon, backing off to the fallback poll.
 */
export async function readWhenReady<T>(notifier: FeedNotifier, read: () => Promise<T[]>, waitMs: number, signal?: AbortSignal): Promise<T[]> {
  const deadline = Date.now() + waitMs;
  let retryMs = FALLBACK_POLL_MS;
  for (;;) {
    const seq = notifier.seq;
    const items = await read();
    const left = deadline - Date.now();
    if (items.length > 0 || left <= 0 || signal?.aborted) return items;
    if (notifier.seq !== seq) {
      retryMs = 20; // woken during the read: read again at once
      continue;
    }
    const before = notifier.seq;
    await notifier.next(Math.min(left, retryMs), signal);
    retryMs = notifier.seq !== before ? 20 : Math.min(retryMs * 2, FALLBACK_POLL_MS);
  }
}
