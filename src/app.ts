// buildApp(deps): the HTTP application, without listening, so tests drive it with inject()
// and `serve` adds listen(). Errors from anywhere are answered from the one table in errors.ts.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Db, DialectSeam } from "./db/dialect.ts";
import type { Logger } from "./log.ts";
import { registerWebhook } from "./webhook/route.ts";
import { PluginDirectory } from "./plugins/directory.ts";
import { GroupCommitter } from "./webhook/group-commit.ts";
import { classifyError, sendError } from "./http/errors.ts";
import { registerApi, type ApiOptions } from "./api/register.ts";
import { serverTimeoutOptions, DEFAULT_TIMEOUTS, type HttpTimeouts } from "./http/timeouts.ts";
import { registerShutdownGate } from "./http/shutdown.ts";
import { registerReadiness, WriteHealth } from "./http/readiness.ts";
import { answerClientError } from "./http/client-errors.ts";
import { registerContentEncoding } from "./http/content-encoding.ts";
import { writeBatch } from "./webhook/write-batch.ts";
import { FeedNotifier } from "./feed/notifier.ts";
import type { MultiFernet } from "./crypto/fernet.ts";
import { registerMetrics } from "./metrics/route.ts";
import { registerDashboard, type DashboardDeps } from "./dashboard/routes.ts";

export interface AppDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  /** Called after a commit that queued outgoing messages (wakes this process's sender). */
  onQueued?: () => void;
  plugins?: PluginDirectory;
  committer?: GroupCommitter;
  /** HTTP timeouts (http/timeouts.ts); the defaults suit Telegram. */
  timeouts?: HttpTimeouts;
  /** Outcomes of the webhook's writes, for /readyz (http/readiness.ts). */
  health?: WriteHealth;
  /** /api/v1 settings (rate limit, and what POST /api/v1/plugins needs). */
  api?: ApiOptions;
  /** Wakes the feed's readers after commits (feed/notifier.ts); one per process. */
  feed?: FeedNotifier;
  /** Encrypts subscription secrets (rt.keys.fernet). */
  fernet?: MultiFernet;
  /** The web dashboard at `/` (served only when given: it needs the keys and the Bot API root). */
  dashboard?: Omit<DashboardDeps, "db" | "seam" | "logger">;
}

export function buildApp(deps: AppDeps): { app: FastifyInstance; committer: GroupCommitter; plugins: PluginDirectory } {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger.child({ component: "http" }) as FastifyBaseLogger,
    // No log line per request: the hot path logs only what went wrong.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    // Telegram never sends more; anything bigger is refused before it is read.
    bodyLimit: 256 * 1024,
    // Requests that start while closing get our 503 (http/shutdown.ts), not Fastify's.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    ...serverTimeoutOptions(deps.timeouts ?? DEFAULT_TIMEOUTS),
    clientErrorHandler: answerClientError,
  });
  registerShutdownGate(app);
  registerContentEncoding(app);
  const health = deps.health ?? new WriteHealth();
  const plugins = deps.plugins ?? new PluginDirectory(deps.db, deps.seam);
  const feed = deps.feed ?? new FeedNotifier();
  const committer =
    deps.committer ??
    new GroupCommitter(deps.db, deps.seam, {
      onQueued: deps.onQueued,
      onCommitted: () => feed.notify(),
      writer: health.track((jobs, now) => writeBatch(deps.db, deps.seam, jobs, now), deps.seam),
    });

  app.setErrorHandler((err, req, reply) => {
    const { code, description, log } = classifyError(err, (e) => deps.seam.errors.isUnavailable(e));
    if (log)
      req.log.error(
        { err },
        code === "STORAGE_UNAVAILABLE"
          ? "storage unavailable: answering 503 so Telegram delivers again"
          : "internal error: answering 500 so Telegram delivers again",
      );
    sendError(reply, code, description);
  });
  app.setNotFoundHandler((_req, reply) => {
    sendError(reply, "NOT_FOUND");
  });

  app.get("/healthz", async () => ({ ok: true }));
  registerReadiness(app, { db: deps.db, seam: deps.seam, logger: deps.logger, health });

  registerWebhook(app, { db: deps.db, seam: deps.seam, plugins, committer, logger: deps.logger });
  registerApi(app, { db: deps.db, seam: deps.seam, logger: deps.logger, onQueued: deps.onQueued, ...deps.api, feed, fernet: deps.api?.fernet ?? deps.fernet });
  registerMetrics(app, { db: deps.db });
  if (deps.dashboard) registerDashboard(app, { db: deps.db, seam: deps.seam, logger: deps.logger, ...deps.dashboard });
  return { app, committer, plugins };
}
