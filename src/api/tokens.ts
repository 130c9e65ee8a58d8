// API tokens: one Joe user's key to /api/v1. Shown once when created, stored as a SHA-256 digest
// (the token is 32 random bytes, so a plain digest is as good as a slow hash and costs nothing
// per request), listed by name and prefix, revoked by id.
import { randomBytes, createHash } from "node:crypto";
import type { Db } from "../db/dialect.ts";
import { JoeError } from "../errors.ts";

export const TOKEN_PREFIX = "joe_";

export interface ApiTokenInfo {
  id: number;
  usuario_id: number;
  name: string;
  /** The first characters of the token, to tell tokens apart without showing them. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ApiPrincipal {
  usuarioId: number;
  tokenId: number;
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function toInfo(r: {
  id: number;
  usuario_id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}): ApiTokenInfo {
  return {
    id: Number(r.id),
    usuario_id: Number(r.usuario_id),
    name: r.name,
    prefix: r.prefix,
    created_at: r.created_at,
    last_used_at: r.last_used_at,
    revoked_at: r.revoked_at,
  };
}

/** Creates a token for the user; the clear token is returned once and never stored. */
export async function createApiToken(db: Db, usuarioId: number, name: string): Promise<{ token: string; info: ApiTokenInfo }> {
  if (!/^.{1,64}$/u.test(name)) throw new JoeError("INVALID_INPUT", "token name: 1-64 characters");
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const row = await db
    .insertInto("api_tokens")
    .values({
      usuario_id: usuarioId,
      name,
      prefix: token.slice(0, TOKEN_PREFIX.length + 6),
      token_hash: digest(token),
      created_at: new Date().toISOString(),
      last_used_at: null,
      revoked_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { token, info: toInfo(row) };
}

export async function listApiTokens(db: Db, usuarioId?: number): Promise<ApiTokenInfo[]> {
  let q = db.selectFrom("api_tokens").selectAll().orderBy("id");
  if (usuarioId !== undefined) q = q.where("usuario_id", "=", usuarioId);
  return (await q.execute()).map(toInfo);
}

export async function revokeApiToken(db: Db, id: number): Promise<ApiTokenInfo> {
  const row = await db
    .updateTable("api_tokens")
    .set({ revoked_at: new Date().toISOString() })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  if (row) return toInfo(row);
  const existing = await db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
  if (!existing) throw new JoeError("NOT_FOUND", `no API token with id ${id}`);
  return toInfo(existing);
}

/** The user a bearer token belongs to, or null (unknown, revoked or malformed). */
export async function principalForToken(db: Db, token: string): Promise<ApiPrincipal | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 128) return null;
  const row = await db
    .selectFrom("api_tokens")
    .select(["id", "usuario_id"])
    .where("token_hash", "=", digest(token))
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return row ? { usuarioId: Number(row.usuario_id), tokenId: Number(row.id) } : null;
}
