// Putting the parts together: open the database (migrating it), load the keys, and run the
// roles — `serve` (HTTP + workers by default) and `worker` (the sender alone). Shutdown on
// SIGTERM/SIGINT is graceful: stop accepting, finish requests and sends in flight, then exit.
import type { FastifyInstance } from "fastify";
import { loadConfig, ConfigError, type Config } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { openStore, describeUrl, type Store } from "./db/connect.ts";
import { migrate } from "./db/migrations.ts";
import { loadKeys, type KeySource } from "./crypto/keyring.ts";
import { buildApp } from "./app.ts";
import type { GroupCommitter } from "./webhook/group-commit.ts";
import type { PluginDirectory } from "./plugins/directory.ts";
import { OutboxSender } from "./outbox/sender.ts";
import { startMaintenance } from "./outbox/maintenance.ts";
import { timeoutsFrom } from "./http/timeouts.ts";
import { closeGracefully } from "./http/shutdown.ts";
import { startError } from "./http/start-error.ts";
import { startFeed, type Feed } from "./feed/start.ts";
import { PollingManager } from "./polling/manager.ts";
import { nextSteps } from "./ops/next-steps.ts";
import { assertKeysDecryptTokens } from "./crypto/key-check.ts";
import { SttWorker } from "./stt/worker.ts";
import { createSttProvider } from "./stt/providers/index.ts";
import type { SttProvider } from "./stt/providers/types.ts";

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
  feed?: Feed;
  polling?: PollingManager;
  url?: string;
  stop(): Promise<void>;
}

export function startSender(rt: Runtime): OutboxSender {
  const sender = new OutboxSender({
    db: rt.store.db,
    seam: rt.store.seam,
    fernet: rt.keys.fernet,
    apiRoot: rt.config.TELEGRAM_API_ROOT,
    logger: rt.logger.child({ component: "outbox" }),
    sendTimeoutMs: rt.config.SEND_TIMEOUT_SECONDS * 1000,
  });
  sender.start();
  return sender;
}

/** The transcription worker, when STT_PROVIDER is not none. */
/**
 * The transcription worker, when STT_PROVIDER is not none. Its provider is made first, before
 * anything starts (prepareStt), so a bad WHISPER_MODEL stops the start instead of leaving a
 * half-started process.
 */
export async function prepareStt(rt: Runtime): Promise<SttProvider | null> {
  try {
    return await createSttProvider(rt.config, rt.logger);
  } catch (err) {
    await rt.close();
    throw new ConfigError(`invalid configuration (${(err as Error).message})`);
  }
}

export function startStt(rt: Runtime, provider: SttProvider | null): SttWorker | undefined {
  if (!provider) return undefined;
  const worker = new SttWorker({
    db: rt.store.db,
    seam: rt.store.seam,
    fernet: rt.keys.fernet,
    apiRoot: rt.config.TELEGRAM_API_ROOT,
    logger: rt.logger.child({ component: "stt" }),
    provider,
    concurrency: rt.config.STT_CONCURRENCY,
    maxAttempts: rt.config.STT_MAX_ATTEMPTS,
    retryBaseMs: rt.config.STT_RETRY_BASE_SECONDS * 1000,
    leaseMs: rt.config.STT_LEASE_SECONDS * 1000,
  });
  worker.start();
  return worker;
}

export async function startServer(rt: Runtime, opts: { workers: boolean; plugins?: PluginDirectory }): Promise<Running> {
  await refuseUndecryptable(rt);
  const sttProvider = opts.workers ? await prepareStt(rt) : null;
  let sender: OutboxSender | undefined;
  const timeouts = timeoutsFrom(rt.config);
  const feed = startFeed(rt);
  const { app, committer, plugins } = buildApp({
    db: rt.store.db,
    seam: rt.store.seam,
    logger: rt.logger,
    onQueued: () => sender?.wake(),
    timeouts,
    plugins: opts.plugins,
    feed: feed.notifier,
    fernet: rt.keys.fernet,
    api: { fernet: rt.keys.fernet, telegramApiRoot: rt.config.TELEGRAM_API_ROOT, rateLimitPerMinute: rt.config.API_RATE_LIMIT_PER_MINUTE },
    dashboard: { fernet: rt.keys.fernet, apiRoot: rt.config.TELEGRAM_API_ROOT, publicUrl: rt.config.PUBLIC_URL },
  });
  let url: string;
  try {
    url = await app.listen({ port: rt.config.PORT, host: rt.config.HOST });
  } catch (err) {
    // Nothing may keep running when the server could not start (a stray sender would release
    // the live server's claims on SQLite and send its messages a second time).
    await app.close().catch(() => {});
    await feed.stop();
    await rt.close();
    throw startError(err, rt.config);
  }
  // Workers only once the port is ours.
  sender = opts.workers ? startSender(rt) : undefined;
  const maintenance = opts.workers ? startMaintenance(rt.store.db, rt.logger) : undefined;
  if (opts.workers) feed.startDeliveries();
  // Bots without a webhook are long-polled here (feeding the same committer as the webhook).
  const polling = opts.workers ? startPolling(rt, committer, plugins) : undefined;
  const stt = startStt(rt, sttProvider);
  rt.logger.info(
    { url, database: describeUrl(rt.config.databaseUrl), dialect: rt.store.seam.name, workers: opts.workers, key_source: rt.keys.origin },
    "joe-telegram: listening",
  );
  await nextSteps(rt, { url, polling: polling !== undefined }).catch((err) => rt.logger.warn({ err }, "joe-telegram: cannot tell what to do next"));
  return {
    app,
    sender,
    feed,
    polling,
    url,
    async stop() {
      await polling?.stop(); // aborts the long polls; a write in progress finishes first
      // Stops accepting; requests in flight get the grace period, then every connection is closed.
      const { forced } = await closeGracefully(app, timeouts.shutdownGraceMs);
      if (forced) rt.logger.warn({ grace_ms: timeouts.shutdownGraceMs }, "joe-telegram: connections still open after the grace period were closed");
      await committer.idle(); // what the closed requests handed over is still committed
      maintenance?.stop();
      await stt?.stop();
      await sender?.stop();
      await feed.stop();
      await rt.close();
    },
  };
}

export function startPolling(rt: Runtime, committer: GroupCommitter, plugins: PluginDirectory): PollingManager {
  const c = rt.config;
  const polling = new PollingManager(
    {
      db: rt.store.db,
      seam: rt.store.seam,
      committer,
      plugins,
      fernet: rt.keys.fernet,
      apiRoot: c.TELEGRAM_API_ROOT,
      logger: rt.logger.child({ component: "polling" }),
      timeoutSeconds: c.POLL_TIMEOUT_SECONDS,
      longBackoffMs: c.POLL_CONFLICT_BACKOFF_SECONDS * 1000,
    },
    { leaseMs: c.POLL_LEASE_SECONDS * 1000, scanMs: Math.max(1000, Math.floor((c.POLL_LEASE_SECONDS * 1000) / 3)) },
  );
  polling.start();
  return polling;
}

/** Stored tokens the keys cannot open: refuse to start (closing the runtime), saying how to recover. */
async function refuseUndecryptable(rt: Runtime): Promise<void> {
  try {
    await assertKeysDecryptTokens(rt);
  } catch (err) {
    await rt.close();
    throw err;
  }
}

export async function startWorker(rt: Runtime): Promise<Running> {
  await refuseUndecryptable(rt);
  const sttProvider = await prepareStt(rt);
  const sender = startSender(rt);
  const maintenance = startMaintenance(rt.store.db, rt.logger);
  const feed = startFeed(rt);
  feed.startDeliveries();
  const stt = startStt(rt, sttProvider);
  rt.logger.info({ database: describeUrl(rt.config.databaseUrl), dialect: rt.store.seam.name }, "joe-telegram: worker started");
  return {
    sender,
    feed,
    async stop() {
      maintenance.stop();
      await stt?.stop();
      await sender.stop();
      await feed.stop();
      await rt.close();
    },
  };
}

/**
 * Stop gracefully on SIGTERM/SIGINT; a second signal exits at once, and so does a stop that is
 * still not done after `hardLimitMs` (a send or a commit hanging on a dead peer must not keep the
 * process alive forever; what was not finished is retried after a restart, as after a crash).
 * The limit is well above the HTTP grace period plus one Bot API send, so a normal stop never meets it.
 * The handlers take the start itself (a promise), so they are in place before the port answers:
 * a signal that arrives while the workers are still starting waits for the start, then stops.
 */
export function stopOnSignals(running: Running | Promise<Running>, logger: Logger, hardLimitMs = 120_000): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, "joe-telegram: shutting down");
    setTimeout(() => {
      logger.error({ limit_ms: hardLimitMs }, "joe-telegram: shutdown did not finish in time, exiting");
      process.exit(1);
    }, hardLimitMs).unref();
    Promise.resolve(running)
      .then((r) => r.stop())
      .then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, "joe-telegram: error while shutting down");
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}
