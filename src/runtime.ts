// Putting the parts together: open the database (migrating it), load the keys, and run the
// roles — `serve` (HTTP + workers by default) and `worker` (the sender alone). Shutdown on
// SIGTERM/SIGINT is graceful: stop accepting, finish requests and sends in flight, then exit.
import type { FastifyInstance } from "fastify";
import { loadConfig, type Config } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { openStore, describeUrl, type Store } from "./db/connect.ts";
import { migrate } from "./db/migrations.ts";
import { loadKeys, type KeySource } from "./crypto/keyring.ts";
import { buildApp } from "./app.ts";
import { OutboxSender } from "./outbox/sender.ts";
import { startMaintenance } from "./outbox/maintenance.ts";
import { SttWorker } from "./stt/worker.ts";
import { createSttProvider } from "./stt/providers/index.ts";

export interface Runtime {
  config: Config;
  logger: Logger;
  store: Store;
  keys: KeySource;
  close(): Promise<void>;
}

export async function openRuntime(opts: { config?: Config; logger?: Logger; migrate?: boolean } = {}): Promise<Runtime> {
  const config = opts.config ?? loadConfig();
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const keys = loadKeys({ fernetKeys: config.FERNET_KEYS, dataDir: config.DATA_DIR, production: config.production, warn: (m) => logger.warn(m) });
  const store = await openStore(config.databaseUrl);
  try {
    if (opts.migrate !== false) await migrate(store.db, store.seam);
  } catch (err) {
    await store.close();
    throw err;
  }
  return { config, logger, store, keys, close: () => store.close() };
}

export interface Running {
  app?: FastifyInstance;
  sender?: OutboxSender;
  url?: string;
  stop(): Promise<void>;
}

export function startSender(rt: Runtime): OutboxSender {
  const sender = new OutboxSender({
    db: rt.store.db, seam: rt.store.seam, fernet: rt.keys.fernet,
    apiRoot: rt.config.TELEGRAM_API_ROOT, logger: rt.logger.child({ component: "outbox" }),
  });
  sender.start();
  return sender;
}

/** The transcription worker, when STT_PROVIDER is not none. */
export async function startStt(rt: Runtime): Promise<SttWorker | undefined> {
  const provider = await createSttProvider(rt.config, rt.logger);
  if (!provider) return undefined;
  const worker = new SttWorker({
    db: rt.store.db, seam: rt.store.seam, fernet: rt.keys.fernet, apiRoot: rt.config.TELEGRAM_API_ROOT,
    logger: rt.logger.child({ component: "stt" }), provider,
    concurrency: rt.config.STT_CONCURRENCY, maxAttempts: rt.config.STT_MAX_ATTEMPTS,
    retryBaseMs: rt.config.STT_RETRY_BASE_SECONDS * 1000, leaseMs: rt.config.STT_LEASE_SECONDS * 1000,
  });
  worker.start();
  return worker;
}

export async function startServer(rt: Runtime, opts: { workers: boolean }): Promise<Running> {
  let sender: OutboxSender | undefined;
  const { app, committer } = buildApp({ db: rt.store.db, seam: rt.store.seam, logger: rt.logger, onQueued: () => sender?.wake() });
  let url: string;
  try {
    url = await app.listen({ port: rt.config.PORT, host: rt.config.HOST });
  } catch (err) {
    // Nothing may keep running when the server could not start (a stray sender would release
    // the live server's claims on SQLite and send its messages a second time).
    await app.close().catch(() => {});
    await rt.close();
    throw err;
  }
  // Workers only once the port is ours.
  sender = opts.workers ? startSender(rt) : undefined;
  const maintenance = opts.workers ? startMaintenance(rt.store.db, rt.logger) : undefined;
  const stt = opts.workers ? await startStt(rt) : undefined;
  rt.logger.info({ url, database: describeUrl(rt.config.databaseUrl), dialect: rt.store.seam.name, workers: opts.workers, key_source: rt.keys.origin }, "joe-telegram: listening");
  return {
    app, sender, url,
    async stop() {
      await app.close(); // stops accepting; waits for requests in flight
      await committer.idle();
      maintenance?.stop();
      await stt?.stop();
      await sender?.stop();
      await rt.close();
    },
  };
}

export async function startWorker(rt: Runtime): Promise<Running> {
  const sender = startSender(rt);
  const maintenance = startMaintenance(rt.store.db, rt.logger);
  const stt = await startStt(rt);
  rt.logger.info({ database: describeUrl(rt.config.databaseUrl), dialect: rt.store.seam.name }, "joe-telegram: worker started");
  return {
    sender,
    async stop() {
      maintenance.stop();
      await stt?.stop();
      await sender.stop();
      await rt.close();
    },
  };
}

/** Stop gracefully on SIGTERM/SIGINT; a second signal exits at once. */
export function stopOnSignals(running: Running, logger: Logger): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "joe-telegram: shutting down");
    running.stop().then(() => process.exit(0), (err) => {
      logger.error({ err }, "joe-telegram: error while shutting down");
      process.exit(1);
    });
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}
