// Sign-in for the dashboard: one-time login links and browser sessions. Only SHA-256 hashes of
// their secrets are stored, so a copy of the database signs nobody in. A link is redeemed by one
// conditional UPDATE (unused and unexpired), which makes "single use" hold across processes and
// on both databases without a lock.
import { randomBytes, createHash } from "node:crypto";
import type { Db } from "../db/dialect.ts";

export const LOGIN_LINK_TTL_MS = 15 * 60 * 1000;
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The URL a login token is redeemed at, on the given base (PUBLIC_URL or http://localhost:PORT). */
export function loginUrl(base: string, token: string): string {
  return `${base.replace(/\/+$/, "")}/login/${token}`;
}

export async function createLoginLink(db: Db, usuarioId: number, now = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const token = newSecret();
  const expiresAt = now + LOGIN_LINK_TTL_MS;
  await db
    .insertInto("dashboard_login_links")
    .values({ token_hash: hashSecret(token), usuario_id: usuarioId, expires_at: expiresAt, used_at: null, created_at: now })
    .execute();
  return { token, expiresAt };
}

/** Whether a link could still be redeemed (shown before the user presses "Sign in"). */
export async function loginLinkUsable(db: Db, token: string, now = Date.now()): Promise<boolean> {
  const row = await db.selectFrom("dashboard_login_links").select(["expires_at", "used_at"]).where("token_hash", "=", hashSecret(token)).executeTakeFirst();
  return !!row && row.used_at === null && Number(row.expires_at) > now;
}

/**
 * Use up a login link and open a session for its user, in one transaction: the link is marked
 * used only if it was unused and unexpired, so two redemptions of one link give one session.
 * Returns the session's secret (for the cookie), or null when the link is unknown, used or expired.
 */
export async function redeemLoginLink(db: Db, token: string, now = Date.now()): Promise<{ sessionToken: string; usuarioId: number; expiresAt: number } | null> {
  return db.transaction().execute(async (trx) => {
    const used = await trx
      .updateTable("dashboard_login_links")
      .set({ used_at: now })
      .where("token_hash", "=", hashSecret(token))
      .where("used_at", "is", null)
      .where("expires_at", ">", now)
      .returning("usuario_id")
      .executeTakeFirst();
    if (!used) return null;
    const sessionToken = newSecret();
    const expiresAt = now + SESSION_TTL_MS;
    await trx
      .insertInto("dashboard_sessions")
      .values({ token_hash: hashSecret(sessionToken), usuario_id: used.usuario_id, expires_at: expiresAt, created_at: now })
      .execute();
    return { sessionToken, usuarioId: Number(used.usuario_id), expiresAt };
  });
}

export interface SessionUser {
  usuarioId: number;
  username: string;
}

export async function sessionUser(db: Db, sessionToken: string, now = Date.now()): Promise<SessionUser | null> {
  const row = await db
    .selectFrom("dashboard_sessions")
    .innerJoin("users", "users.id", "dashboard_sessions.usuario_id")
    .select(["users.id", "users.username", "dashboard_sessions.expires_at"])
    .where("dashboard_sessions.token_hash", "=", hashSecret(sessionToken))
    .executeTakeFirst();
  if (!row || Number(row.expires_at) <= now) return null;
  return { usuarioId: Number(row.id), username: row.username };
}

export async function endSession(db: Db, sessionToken: string): Promise<void> {
  await db.deleteFrom("dashboard_sessions").where("token_hash", "=", hashSecret(sessionToken)).execute();
}

/** Housekeeping: links and sessions past their expiry are of no use to anyone. */
export async function deleteExpired(db: Db, now = Date.now()): Promise<void> {
  await db
    .deleteFrom("dashboard_login_links")
    .where("expires_at", "<=", now - LOGIN_LINK_TTL_MS)
    .execute();
  await db.deleteFrom("dashboard_sessions").where("expires_at", "<=", now).execute();
}
