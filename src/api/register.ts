// /api/v1: the JSON API for Joe's workers and other programs. Every route inside this scope is
// authenticated by bearer token (auth.ts) and sees only its user's plugins and tasks. Each
// group of routes lives in its own file and is added here with one line.
import type { FastifyInstance } from "fastify";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import { requireToken, TokenCache } from "./auth.ts";
import { FeedNotifier } from "../feed/notifier.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { registerFeedRoutes } from "../feed/routes.ts";
import { registerSubscriptionRoutes } from "../feed/subscription-routes.ts";

export const API_PREFIX = "/api/v1";

export interface ApiDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  /** Called after a commit that queued outgoing messages (wakes this process's sender). */
  onQueued?: () => void;
  tokens?: TokenCache;
  /** Wakes waiting feed readers (feed/notifier.ts). */
  feed?: FeedNotifier;
  /** Encrypts subscription secrets. */
  fernet?: MultiFernet;
}

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const tokens = deps.tokens ?? new TokenCache(deps.db);
  app.register(async (scope) => {
    requireToken(scope, tokens);
    scope.get("/me", async (req) => ({ usuario_id: req.principal!.usuarioId }));
    registerFeedRoutes(scope, { ...deps, feed: deps.feed ?? new FeedNotifier() });
    registerSubscriptionRoutes(scope, deps);
  }, { prefix: API_PREFIX });
}
