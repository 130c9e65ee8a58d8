// Removing a plugin, and giving it a new token (after a lost key or a token revoked in BotFather).
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { JoeError } from "../errors.ts";
import { BOT_TOKEN_RE, getPluginRow } from "./store.ts";
import { removePlugin } from "./remove.ts";
import { assertNotDuplicate, botIdOfToken } from "./duplicates.ts";

/**
 * Delete a plugin. While it has tasks this is refused unless `force`: the tasks are the user's
 * captured thoughts, and removing them with a bot is a choice to make knowingly. With `force`,
 * its tasks, queued messages and bookkeeping go with it, in one transaction (a linked plugin
 * gets its `plugin.unlinked` event in the same transaction). The work is plugins/remove.ts's
 * `removePlugin`, shared with the API and the dashboard.
 */
export async function deletePlugin(db: Db, seam: DialectSeam, id: number, opts: { force: boolean }): Promise<{ id: number; tasks_deleted: number }> {
  const r = await removePlugin(db, seam, { id, refuse: opts.force ? "none" : "any" });
  return { id, tasks_deleted: r.tasks };
}

/**
 * Store a new token for a plugin, encrypted under the first key. It must be a token of the same
 * bot: its id (before ':') must match the old token's when that one still decrypts; otherwise
 * `checkBot` (getMe with the new token) must answer with the plugin's username.
 */
export async function setPluginToken(
  db: Db,
  fernet: MultiFernet,
  id: number,
  token: string,
  checkBot: (token: string) => Promise<{ username?: string }>,
): Promise<void> {
  if (!BOT_TOKEN_RE.test(token)) throw new JoeError("INVALID_INPUT", "--token does not look like a BotFather token (digits:letters)");
  const row = await getPluginRow(db, id);
  let oldToken: string | undefined;
  try {
    oldToken = fernet.decrypt(row.token_cifrado);
  } catch {
    oldToken = undefined;
  }
  const me = await checkBot(token);
  const expected = row.identificador.replace(/^@/, "").toLowerCase();
  if (oldToken !== undefined && botIdOfToken(oldToken) !== botIdOfToken(token)) {
    throw new JoeError("TOKEN_MISMATCH", `plugin ${id} is ${row.identificador}; create a plugin for the other bot instead`);
  }
  if (me.username !== undefined && me.username.toLowerCase() !== expected) {
    throw new JoeError("TOKEN_MISMATCH", `the token is @${me.username}'s, plugin ${id} is ${row.identificador}`);
  }
  await assertNotDuplicate(db, fernet, { token, exceptId: id });
  await db
    .updateTable("plugin_configs")
    .set({ token_cifrado: fernet.encrypt(token), updated_at: new Date().toISOString() })
    .where("id", "=", id)
    .execute();
}
