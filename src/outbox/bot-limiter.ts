// Per-bot pacing in this process: fewer than N sends in any sliding second, so the sender stays
// under Telegram's 30 messages/s per bot instead of bouncing off 429s. Telegram counts a
// message when it *arrives*, which is some time after we start sending it; so a send occupies
// its slot from its start until one second after its answer came back (its arrival is in
// between), never just one second after its start.
export interface Slot {
  /** When the slot frees: Infinity while the send is in flight. */
  until: number;
}

export class BotLimiter {
  private slots = new Map<number, Slot[]>();
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A slot for this bot, or the milliseconds to wait before asking again. */
  tryAcquire(botId: number): Slot | number {
    const t = this.now();
    const live = (this.slots.get(botId) ?? []).filter((s) => s.until > t);
    this.slots.set(botId, live);
    if (live.length < this.perSecond) {
      const slot = { until: Infinity };
      live.push(slot);
      return slot;
    }
    const soonest = Math.min(...live.map((s) => s.until));
    return Number.isFinite(soonest) ? Math.max(1, soonest - t) : 5; // all in flight: look again soon
  }

  /** The send's answer arrived: its slot stays taken for one more second. */
  release(slot: Slot): void {
    slot.until = this.now() + 1000;
  }
}
