// /api/v1: the JSON API for Joe's workers and other programs. Every route inside this scope is
// authenticated by bearer token (auth.ts) and sees only its user's plugins and tasks. Each
// group of routes lives in its own file and is added here with one line.
import type { FastifyInstance } from "fastify";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { requireToken, TokenCache } from "./auth.ts";
import { applyContract } from "./contract.ts";
import { registerOpenApi } from "./openapi.ts";
import { API_PREFIX_PATH } from "./paths.ts";
import { registerTaskRoutes } from "./tasks.ts";
import { registerPluginRoutes } from "./plugins.ts";
import { FeedNotifier } from "../feed/notifier.ts";
import { registerFeedRoutes } from "../feed/routes.ts";
import { registerSubscriptionRoutes } from "../feed/subscription-routes.ts";

export const API_PREFIX = API_PREFIX_PATH;

export interface ApiDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  /** Called after a commit that queued outgoing messages (wakes this process's sender). */
  onQueued?: () => void;
  tokens?: TokenCache;
  /** Requests per minute per API token (API_RATE_LIMIT_PER_MINUTE). */
  rateLimitPerMinute?: number;
  /** For POST /plugins: the key that encrypts bot tokens, and where the Bot API is (TELEGRAM_API_ROOT). */
  fernet?: MultiFernet;
  telegramApiRoot?: string;
  /** Wakes waiting feed readers (feed/notifier.ts). */
  feed?: FeedNotifier;
}

/** What the runtime passes through buildApp to the API (optional: tests may build the app without). */
export type ApiOptions = Pick<ApiDeps, "rateLimitPerMinute" | "fernet" | "telegramApiRoot">;

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const tokens = deps.tokens ?? new TokenCache(deps.db);
  // Before the scope, so the document records every route added in it.
  registerOpenApi(app);
  app.register(
    async (scope) => {
      requireToken(scope, tokens);
      // Validation, error shape and rate limit for every route below (must come before them).
      await applyContract(scope, { rateLimitPerMinute: deps.rateLimitPerMinute });
      scope.get("/me", { schema: { summary: "The token's user", tags: ["auth"] } }, async (req) => ({ usuario_id: req.principal!.usuarioId }));
      registerTaskRoutes(scope, deps);
      registerPluginRoutes(scope, deps);
      registerFeedRoutes(scope, { ...deps, feed: deps.feed ?? new FeedNotifier() });
      registerSubscriptionRoutes(scope, deps);
    },
    { prefix: API_PREFIX },
  );
}
