// One plugin per bot. A bot is known by its username (case-insensitive, as Telegram's) and by
// its id, the number before ':' in its token (BotFather's new token for the same bot keeps it).
// Tokens are never stored in clear, so the stored ones are decrypted in memory to compare ids.
import type { Db } from "../db/dialect.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { JoeError } from "../errors.ts";

export function botIdOfToken(token: string): string {
  return token.split(":", 1)[0]!;
}

/** Throws PLUGIN_EXISTS when another plugin (not `exceptId`) has this username or this bot's token. */
export async function assertNotDuplicate(db: Db, fernet: MultiFernet, input: { identificador?: string; token: string; exceptId?: number }): Promise<void> {
  const rows = await db.selectFrom("plugin_configs").select(["id", "identificador", "token_cifrado"]).execute();
  const botId = botIdOfToken(input.token);
  const username = input.identificador?.replace(/^@/, "").toLowerCase();
  for (const r of rows) {
    if (Number(r.id) === input.exceptId) continue;
    if (username !== undefined && r.identificador.replace(/^@/, "").toLowerCase() === username) {
      throw new JoeError(
        "PLUGIN_EXISTS",
        `plugin ${r.id} is already ${r.identificador}; use it (\`plugin show ${r.id}\`) or remove it first (\`plugin delete ${r.id}\`)`,
      );
    }
    let other: string;
    try {
      other = fernet.decrypt(r.token_cifrado);
    } catch {
      continue; // cannot be compared; `serve` refuses to start until it is fixed anyway
    }
    if (botIdOfToken(other) === botId) {
      throw new JoeError(
        "PLUGIN_EXISTS",
        `plugin ${r.id} (${r.identificador}) already uses a token of this bot; to change its token: \`plugin set-token ${r.id} --token -\``,
      );
    }
  }
}
