// Joe users (plugin owners).
import type { Db, DialectSeam } from "../db/dialect.ts";
import { JoeError } from "../errors.ts";

export interface User {
  id: number;
  username: string;
  created_at: string;
}

const USERNAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

export async function createUser(db: Db, seam: DialectSeam, username: string): Promise<User> {
  if (!USERNAME_RE.test(username)) throw new JoeError("INVALID_INPUT", "username: 1-64 of letters, digits, _ . -");
  try {
    const row = await db.insertInto("users").values({ username, created_at: new Date().toISOString() }).returningAll().executeTakeFirstOrThrow();
    return { ...row, id: Number(row.id) };
  } catch (err) {
    if (seam.errors.isUniqueViolation(err)) throw new JoeError("USER_EXISTS", username);
    throw err;
  }
}

/** By username, or by id when given digits. */
export async function findUser(db: Db, ref: string): Promise<User> {
  const q = db.selectFrom("users").selectAll();
  const row = /^\d+$/.test(ref)
    ? await q.where((eb) => eb.or([eb("id", "=", Number(ref)), eb("username", "=", ref)])).executeTakeFirst()
    : await q.where("username", "=", ref).executeTakeFirst();
  if (!row) throw new JoeError("USER_NOT_FOUND", ref);
  return { ...row, id: Number(row.id) };
}

export async function listUsers(db: Db): Promise<User[]> {
  const rows = await db.selectFrom("users").selectAll().orderBy("id").execute();
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
