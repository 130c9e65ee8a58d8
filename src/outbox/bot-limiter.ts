// Per-bot pacing in this process: at most N sends started in any sliding second, so the sender
// stays under Telegram's 30 messages/s per bot instead of bouncing off 429s.
export class BotLimiter {
  private starts = new Map<number, number[]>();
  constructor(private readonly perSecond: number, private readonly now: () => number = Date.now) {}

  /** Milliseconds to wait before this bot may send; 0 means "go" and records the start. */
  tryAcquire(botId: number): number {
    const t = this.now();
    const list = (this.starts.get(botId) ?? []).filter((s) => t - s < 1000);
    if (list.length < this.perSecond) {
      list.push(t);
      this.starts.set(botId, list);
      return 0;
    }
    this.starts.set(botId, list);
    return 1000 - (t - list[0]!) + 1;
  }
}
