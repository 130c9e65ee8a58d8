// Calling the Bot API on a plugin's behalf (the CLI, webhook set-up): the plugin's token decrypted
// only in memory, and Bot API failures turned into clear errors that never show the token.
import { GrammyError, HttpError, type Api } from "grammy";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { decryptToken } from "../plugins/store.ts";
import { createBotApi } from "./api.ts";
import { JoeError } from "../errors.ts";
import { scrub } from "../log.ts";

/** What a Bot API call needs of the runtime; a Runtime (runtime.ts) is one. */
export interface BotCallContext {
  store: { db: Db; seam: DialectSeam };
  keys: { fernet: MultiFernet };
  config: { TELEGRAM_API_ROOT: string };
}

export async function callBot<T>(rt: BotCallContext, row: PluginRow, fn: (api: Api) => Promise<T>): Promise<T> {
  return callWithToken(rt, decryptToken(row, rt.keys.fernet), fn);
}

/** The same, with a token in hand (`plugin set-token` checks the new one before storing it). */
export async function callWithToken<T>(rt: BotCallContext, token: string, fn: (api: Api) => Promise<T>): Promise<T> {
  const api = createBotApi(token, rt.config.TELEGRAM_API_ROOT);
  try {
    return await fn(api);
  } catch (err) {
    if (err instanceof GrammyError) {
      const hint = err.error_code === 401 ? " (is the bot token right? BotFather can show it again)" : "";
      throw new JoeError("BOT_API", scrub(`${err.error_code} ${err.description}`) + hint);
    }
    if (err instanceof HttpError) throw new JoeError("BOT_API", `cannot reach the Bot API at ${rt.config.TELEGRAM_API_ROOT}`);
    throw err;
  }
}
