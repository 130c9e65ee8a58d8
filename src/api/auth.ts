// Bearer-token authentication for /api/v1: every route registered inside `registerApi`'s scope
// sees `req.principal` (the token's user) or was answered 401 before it ran. Lookups are cached
// for a few seconds so a busy worker's polling costs no query per request; a revoked token stops
// working within that time.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Db } from "../db/dialect.ts";
import { JoeError } from "../errors.ts";
import { principalForToken, type ApiPrincipal } from "./tokens.ts";

declare module "fastify" {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
}

const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;

export class TokenCache {
  private readonly entries = new Map<string, { p: ApiPrincipal | null; until: number }>();
  constructor(
    private readonly db: Db,
    private readonly ttlMs = CACHE_MS,
  ) {}

  async principal(token: string, now = Date.now()): Promise<ApiPrincipal | null> {
    const hit = this.entries.get(token);
    if (hit && hit.until > now) return hit.p;
    const p = await principalForToken(this.db, token);
    // Unknown tokens are not cached: a flood of random tokens must not evict real ones.
    if (p) {
      if (this.entries.size >= CACHE_MAX) this.entries.clear();
      this.entries.set(token, { p, until: now + this.ttlMs });
    } else this.entries.delete(token);
    return p;
  }
}

/** Reads `Authorization: Bearer <token>`; answers 401 UNAUTHORIZED when missing or not valid. */
export async function authenticate(req: FastifyRequest, tokens: TokenCache): Promise<ApiPrincipal> {
  const h = req.headers.authorization;
  const m = typeof h === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  const p = m ? await tokens.principal(m[1]!) : null;
  if (!p) throw new JoeError("UNAUTHORIZED");
  req.principal = p;
  return p;
}

/** Adds the auth hook to a scope (call inside the /api/v1 plugin). */
export function requireToken(scope: FastifyInstance, tokens: TokenCache): void {
  scope.addHook("onRequest", async (req) => {
    await authenticate(req, tokens);
  });
}
