// PostgreSQL: one dedicated connection per process that LISTENs on `joe_events` and wakes this
// process's readers when another instance committed events, and publishes this process's own
// commits with NOTIFY (coalesced: at most one in flight and one pending). A wake-up only; if the
// connection drops, readers fall back to their slow poll until it is back.
import pg from "pg";
import type { Logger } from "../log.ts";
import type { FeedNotifier } from "./notifier.ts";

export const CHANNEL = "joe_events";
const RECONNECT_MS = 1000;

export interface PgListener {
  close(): Promise<void>;
}

export function startPgListener(url: string, notifier: FeedNotifier, logger: Logger): PgListener {
  let client: pg.Client | null = null;
  let closed = false;
  let sending = false;
  let pending = false;
  let timer: NodeJS.Timeout | undefined;

  const publish = () => {
    if (!client || closed) return;
    if (sending) {
      pending = true;
      return;
    }
    sending = true;
    const c = client;
    c.query(`notify ${CHANNEL}`)
      .catch(() => {})
      .finally(() => {
        sending = false;
        if (pending) {
          pending = false;
          publish();
        }
      });
  };

  const reconnectLater = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, RECONNECT_MS);
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    c.on("error", () => {}); // reported by "end" below
    c.on("notification", () => notifier.notify({ remote: true }));
    c.on("end", () => {
      if (client === c) client = null;
      reconnectLater();
    });
    try {
      await c.connect();
      await c.query(`listen ${CHANNEL}`);
      if (closed) return void (await c.end().catch(() => {}));
      client = c;
      // Something may have been committed while we were not listening.
      notifier.notify({ remote: true });
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "feed: LISTEN connection failed; readers poll until it is back");
      await c.end().catch(() => {});
      reconnectLater();
    }
  };

  notifier.publish = publish;
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      if (notifier.publish === publish) notifier.publish = undefined;
      const c = client;
      client = null;
      await c?.end().catch(() => {});
    },
  };
}
