// The feed's per-process parts, started with the other workers (runtime.ts): the notifier, the
// PostgreSQL LISTEN connection, and (with workers) the subscription deliverer.
import type { Runtime } from "../runtime.ts";
import { FeedNotifier } from "./notifier.ts";
import { startPgListener, type PgListener } from "./pg-listen.ts";
import { SubscriptionDeliverer, delivererEnv } from "./deliver.ts";

export interface Feed {
  notifier: FeedNotifier;
  deliverer?: SubscriptionDeliverer;
  startDeliveries(): void;
  stop(): Promise<void>;
}

export function startFeed(rt: Runtime): Feed {
  const notifier = new FeedNotifier();
  const listener: PgListener | undefined = rt.store.seam.capabilities.listenNotify
    ? startPgListener(rt.config.databaseUrl, notifier, rt.logger.child({ component: "feed" }))
    : undefined;
  const feed: Feed = {
    notifier,
    startDeliveries() {
      if (feed.deliverer) return;
      feed.deliverer = new SubscriptionDeliverer({
        db: rt.store.db,
        seam: rt.store.seam,
        fernet: rt.keys.fernet,
        feed: notifier,
        logger: rt.logger.child({ component: "subscriptions" }),
        ...delivererEnv(),
      });
      feed.deliverer.start();
    },
    async stop() {
      await feed.deliverer?.stop();
      await listener?.close();
    },
  };
  return feed;
}
