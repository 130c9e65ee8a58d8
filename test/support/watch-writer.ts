// Watching the webhook's writer: which updates it was given decided on the webhook's cached state
// (plans resting on "the plugin is linked to this chat"), and whether that state still held when
// it wrote them (false: the writer found it stale and decided the update again).
import type { DialectSeam, WebhookWriter } from "../../src/db/dialect.ts";

export interface CachedDecision {
  updateId: number;
  chatId: number | null;
  held: boolean;
}

/** Wraps `seam.webhookWriter` in place (the running app holds the same seam object). */
export function watchWriter(seam: DialectSeam): CachedDecision[] {
  const seen: CachedDecision[] = [];
  const inner = seam.webhookWriter;
  const watched: WebhookWriter = {
    async write(db, jobs, plans, ctx) {
      const stats = { replanned: [] as number[] };
      const out = await inner.write(db, jobs, plans, { ...ctx, stats });
      for (const p of plans) {
        if (p.kind === "write" && p.rests === "linked") seen.push({ updateId: p.updateId, chatId: p.chatId, held: !stats.replanned.includes(p.updateId) });
      }
      ctx.stats?.replanned.push(...stats.replanned);
      return out;
    },
  };
  (seam as { webhookWriter: WebhookWriter }).webhookWriter = watched;
  return seen;
}
