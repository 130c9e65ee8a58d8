// buildApp(deps): the HTTP application, without listening, so tests drive it with inject()
// and `serve` adds listen(). Errors from anywhere are answered from the one table in errors.ts.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Db, DialectSeam } from "./db/dialect.ts";
import type { Logger } from "./log.ts";
import { registerWebhook } from "./webhook/route.ts";
import { PluginDirectory } from "./plugins/directory.ts";
import { GroupCommitter } from "./webhook/group-commit.ts";
import { ERRORS, JoeError } from "./errors.ts";
import { sql } from "kysely";
import { registerDashboard, type DashboardDeps } from "./dashboard/routes.ts";

export interface AppDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  /** Called after a commit that queued outgoing messages (wakes this process's sender). */
  onQueued?: () => void;
  plugins?: PluginDirectory;
  committer?: GroupCommitter;
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
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  const plugins = deps.plugins ?? new PluginDirectory(deps.db, deps.seam);
  const committer = deps.committer ?? new GroupCommitter(deps.db, deps.seam, { onQueued: deps.onQueued });

  app.setErrorHandler((err, req, reply) => {
    let code: keyof typeof ERRORS;
    let message: string;
    if (err instanceof JoeError) {
      code = err.code;
      message = err.message;
    } else if ((err as { statusCode?: number }).statusCode === 413) {
      code = "BODY_TOO_LARGE";
      message = ERRORS.BODY_TOO_LARGE.message;
    } else if ((err as { statusCode?: number }).statusCode === 415) {
      code = "UNSUPPORTED_MEDIA_TYPE";
      message = ERRORS.UNSUPPORTED_MEDIA_TYPE.message;
    } else if ((err as { statusCode?: number }).statusCode === 400) {
      code = "INVALID_INPUT";
      message = ERRORS.INVALID_INPUT.message;
    } else if (deps.seam.isUnavailable(err)) {
      code = "STORAGE_UNAVAILABLE";
      message = ERRORS.STORAGE_UNAVAILABLE.message;
      req.log.error({ err }, "storage unavailable: answering 503 so Telegram delivers again");
    } else {
      code = "INTERNAL";
      message = ERRORS.INTERNAL.message;
      req.log.error({ err }, "internal error: answering 500 so Telegram delivers again");
    }
    reply.status(ERRORS[code].status).send({ ok: false, error_code: code, description: message });
  });
  app.setNotFoundHandler((_req, reply) => {
    reply.status(404).send({ ok: false, error_code: "NOT_FOUND", description: ERRORS.NOT_FOUND.message });
  });

  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      return { ok: true };
    } catch {
      return reply.status(503).send({ ok: false, error_code: "STORAGE_UNAVAILABLE" });
    }
  });

  registerWebhook(app, { db: deps.db, seam: deps.seam, plugins, committer, logger: deps.logger });
  if (deps.dashboard) registerDashboard(app, { db: deps.db, seam: deps.seam, logger: deps.logger, ...deps.dashboard });
  return { app, committer, plugins };
}
