// /api/v1: the JSON API for Joe's workers and other programs. Every route inside this scope is
// authenticated by bearer token (auth.ts) and sees only its user's plugins and tasks. Each
// group of routes lives in its own file and is added here with one line.
import type { FastifyInstance } from "fastify";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import { requireToken, TokenCache } from "./auth.ts";

export const API_PREFIX = "/api/v1";

export interface ApiDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  /** Called after a commit that queued outgoing messages (wakes this process's sender). */
  onQueued?: () => void;
  tokens?: TokenCache;
}

export function registerApi(app: FastifyInstance, deps: ApiDeps): void {
  const tokens = deps.tokens ?? new TokenCache(deps.db);
  app.register(async (scope) => {
    requireToken(scope, tokens);
    scope.get("/me", async (req) => ({ usuario_id: req.principal!.usuarioId }));
  }, { prefix: API_PREFIX });
}
