// Calling the Bot API from the CLI: the plugin's token decrypted only in memory, and Bot API
// failures turned into clear errors that never show the token.
import { GrammyError, HttpError, type Api } from "grammy";
import type { Runtime } from "../runtime.ts";
import type { PluginRow } from "../db/schema.ts";
import { decryptToken } from "../plugins/store.ts";
import { createBotApi } from "../telegram/api.ts";
import { JoeError } from "../errors.ts";
import { scrub } from "../log.ts";

export async function callBot<T>(rt: Runtime, row: PluginRow, fn: (api: Api) => Promise<T>): Promise<T> {
  return callWithToken(rt, decryptToken(row, rt.keys.fernet), fn);
}

/** The same, with a token in hand (`plugin set-token` checks the new one before storing it). */
export async function callWithToken<T>(rt: Runtime, token: string, fn: (api: Api) => Promise<T>): Promise<T> {
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
